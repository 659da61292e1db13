"""`upile keygen --ocpp-signing` and `upile release --ocpp-signing` (tools/upile/fwsign.py):
the bench manufacturer root and signing certificate, and the signature a CSMS operator pastes
into SignedUpdateFirmware, checked here with `cryptography` as an independent verifier."""
import base64
import json
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509.oid import ExtendedKeyUsageOID

from upile import paths


def upile(*args):
    p = subprocess.run([sys.executable, "-m", "upile", *map(str, args)], capture_output=True, text=True,
                       cwd=paths.ROOT, env={"PYTHONPATH": str(paths.ROOT / "tools"), "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_keygen_and_release_make_a_signature_a_csms_can_send(tmp_path, kind):
    upile("build")
    upile("keygen", "--out", tmp_path / "k", "--ocpp-signing", kind)
    d = tmp_path / "k" / "ocpp"
    root = x509.load_pem_x509_certificate((d / "manufacturer-root.pem").read_bytes())
    assert x509.load_der_x509_certificate((d / "manufacturer-root.der").read_bytes()) == root
    cert = x509.load_pem_x509_certificate((d / "signing.pem").read_bytes())
    assert cert.issuer == root.subject and root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ExtendedKeyUsageOID.CODE_SIGNING in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    cert.verify_directly_issued_by(root)
    assert oct((d / "signing.key").stat().st_mode)[-3:] == "600"
    out = upile("release", "--kind", "app", "--version", "2.0.0", "--counter", 2, "--key", tmp_path / "k" / "release.key",
                "--product", "upile-ebike-10", "--out", tmp_path / "rel", "--ocpp-signing", d,
                "--ocpp-location", "https://rel.example/2.0.0/manifest.dsse.json")
    assert "OCPP signature" in out
    rel = tmp_path / "rel"
    fw = json.loads((rel / "ocpp-firmware.json").read_text())
    assert fw["location"] == "https://rel.example/2.0.0/manifest.dsse.json"
    assert fw["signingCertificate"] == (rel / "signing.pem").read_text() == (d / "signing.pem").read_text()
    sig = base64.b64decode(fw["signature"])
    data = (rel / "manifest.dsse.json").read_bytes()
    pub = cert.public_key()
    if kind == "ec":
        pub.verify(sig, data, ec.ECDSA(hashes.SHA256()))
    else:
        pub.verify(sig, data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    # keys are never overwritten
    p = subprocess.run([sys.executable, "-m", "upile", "keygen", "--out", str(tmp_path / "k"), "--ocpp-signing", kind,
                        "--only-ocpp"], capture_output=True, text=True, env={"PYTHONPATH": str(paths.ROOT / "tools")})
    assert p.returncode != 0 and "refusing to overwrite" in p.stdout + p.stderr
