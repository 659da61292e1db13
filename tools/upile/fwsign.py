"""OCPP signed firmware on the host (security whitepaper L01; docs/ocpp.md "Part 2").

A SignedUpdateFirmware carries a signing certificate, which must be issued directly by a
ManufacturerRootCertificate installed on the pile, and a signature over the file at
`location`. For our releases that file is the DSSE manifest (manifest.dsse.json): it pins
every other byte of the release through its hashes, and our own Ed25519 signature on it still
decides what installs. This module makes the bench's manufacturer root and signing
certificate (`upile keygen --ocpp-signing rsa|ec`) and signs a release's manifest
(`upile release --ocpp-signing DIR`): RSA-PSS (SHA-256, MGF1-SHA-256, salt 32) or ECDSA
P-256 with SHA-256 (DER), base64, as a CSMS operator pastes it into the request.
"""
import base64
import datetime
import json
import os
from pathlib import Path

from upile.errors import UserError

ROOT_PEM = "manufacturer-root.pem"
ROOT_DER = "manufacturer-root.der"  # what the pile stores (InstallCertificate or provisioning)
ROOT_KEY = "manufacturer-root.key"
SIGN_PEM = "signing.pem"
SIGN_KEY = "signing.key"
SIG_NAME = "manifest.dsse.json.sig"  # beside the manifest in a release: base64 text
CERT_NAME = "signing.pem"  # beside the manifest in a release
REQ_NAME = "ocpp-firmware.json"  # the `firmware` object of a SignedUpdateFirmware


def _c():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    return x509, hashes, serialization, ec, padding, rsa, ExtendedKeyUsageOID, NameOID


def _name(cn, org):
    x509, _, _, _, _, _, _, NameOID = _c()
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def new_key(kind):
    _, _, _, ec, _, rsa, _, _ = _c()
    if kind == "rsa":
        return rsa.generate_private_key(65537, 2048)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise UserError("signing key kind %r: expected rsa or ec" % kind)


def _sign_cert(builder, issuer_key):
    _, hashes, _, ec, padding, _, _, _ = _c()
    if isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        return builder.sign(issuer_key, hashes.SHA256())
    return builder.sign(issuer_key, hashes.SHA256(), rsa_padding=padding.PKCS1v15())


def make_root(key, org="uPile", cn="uPile Manufacturer Root", days=3650, start=None):
    x509, _, _, _, _, _, _, _ = _c()
    start = start or datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    b = (x509.CertificateBuilder().subject_name(_name(cn, org)).issuer_name(_name(cn, org))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
         .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    return _sign_cert(b, key)


def make_signing(key, root, root_key, org="uPile", cn="uPile Firmware Signing", days=730, start=None):
    x509, _, _, _, _, _, EKU, _ = _c()
    start = start or datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    b = (x509.CertificateBuilder().subject_name(_name(cn, org)).issuer_name(root.subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
         .add_extension(x509.ExtendedKeyUsage([EKU.CODE_SIGNING]), critical=False))
    return _sign_cert(b, root_key)


def _pem(cert):
    _, _, serialization, _, _, _, _, _ = _c()
    return cert.public_bytes(serialization.Encoding.PEM)


def _der(cert):
    _, _, serialization, _, _, _, _, _ = _c()
    return cert.public_bytes(serialization.Encoding.DER)


def _write_key(path, key):
    _, _, serialization, _, _, _, _, _ = _c()
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def keygen(out_dir, kind="rsa", org="uPile"):
    """Write a bench manufacturer root (PEM, DER, key) and a signing certificate and key of
    `kind` (rsa: RSA-2048 signing with PSS; ec: P-256 ECDSA) under out_dir/ocpp/; returns that
    folder. The root's key signs certificates only; the signing key signs releases."""
    d = Path(out_dir) / "ocpp"
    d.mkdir(parents=True, exist_ok=True)
    for n in (ROOT_PEM, ROOT_DER, ROOT_KEY, SIGN_PEM, SIGN_KEY):
        if (d / n).exists():
            raise UserError("%s already exists: refusing to overwrite a key" % (d / n))
    rk = new_key(kind)
    root = make_root(rk, org)
    sk = new_key(kind)
    cert = make_signing(sk, root, rk, org)
    _write_key(d / ROOT_KEY, rk)
    _write_key(d / SIGN_KEY, sk)
    (d / ROOT_PEM).write_bytes(_pem(root))
    (d / ROOT_DER).write_bytes(_der(root))
    (d / SIGN_PEM).write_bytes(_pem(cert))
    return d


def sign(key, data):
    """The whitepaper's signature over data: RSA-PSS (salt 32) or ECDSA P-256 (DER), SHA-256."""
    _, hashes, _, ec, padding, _, _, _ = _c()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())


def load_key(path):
    _, _, serialization, _, _, _, _, _ = _c()
    try:
        return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise UserError("cannot load signing key %s: %s" % (path, e))


def sign_release(rel_dir, signing_dir, location=None):
    """Sign rel_dir's manifest with signing_dir's signing key; write the base64 signature
    and the signing certificate beside it, and the request's `firmware` object (with
    `location` when given). Returns that object."""
    rel, sd = Path(rel_dir), Path(signing_dir)
    manifest = (rel / "manifest.dsse.json").read_bytes()
    sig = base64.b64encode(sign(load_key(sd / SIGN_KEY), manifest)).decode()
    cert = (sd / SIGN_PEM).read_text()
    (rel / SIG_NAME).write_text(sig + "\n")
    (rel / CERT_NAME).write_text(cert)
    fw = {"location": location or "<release URL>/manifest.dsse.json",
          "retrieveDateTime": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
          "signingCertificate": cert, "signature": sig}
    (rel / REQ_NAME).write_text(json.dumps(fw, indent=1) + "\n")
    return fw


def request(rel_dir, location, request_id=1, retries=None, retry_interval=None, retrieve=None, install=None):
    """A SignedUpdateFirmware payload for the release in rel_dir (signed by sign_release) at
    `location` (its manifest's URL)."""
    rel = Path(rel_dir)
    fw = {"location": location,
          "retrieveDateTime": retrieve or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
          "signingCertificate": (rel / CERT_NAME).read_text(), "signature": (rel / SIG_NAME).read_text().strip()}
    if install:
        fw["installDateTime"] = install
    p = {"requestId": request_id, "firmware": fw}
    if retries is not None:
        p["retries"] = retries
    if retry_interval is not None:
        p["retryInterval"] = retry_interval
    return p
