"""lib/rsa, p256, eckey, x509 and csr inside micropython agree with `cryptography` on the host:
RSA-PSS / PKCS#1 v1.5 and ECDSA verdicts on signatures it made and on mutated ones, the
issued-by check on certificates it made (every refusal, with the reason our order of checks
gives), and the CSRs, keys and signatures the device makes, read back by cryptography."""
import datetime
import hashlib
import json
import random
import sys
from pathlib import Path

from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from mpy import run_mpy  # noqa: E402

import pki_certs as pc  # noqa: E402

PRE = Prehashed(hashes.SHA256())
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
UTC = datetime.timezone.utc


def device(tmp_path, cases):
    """Runs tests/host/pki_dev.py over the cases; -> its verdict lines."""
    f = tmp_path / "cases.jsonl"
    f.write_text("".join(json.dumps(c) + "\n" for c in cases))
    p = run_mpy(HERE / "pki_dev.py", f, timeout=600, check=True)
    out = p.stdout.splitlines()
    assert len(out) == len(cases), p.stdout[-2000:]
    escaped = [x for x in out if x.startswith(("ESCAPED", "MEMORYERROR", "BADREASON"))]
    assert not escaped, escaped
    return out


def _flip(b, rnd):
    b = bytearray(b)
    i = rnd.randrange(len(b) * 8)
    b[i >> 3] ^= 1 << (i & 7)
    return bytes(b)


def _pss_verdict(pub, digest, sig, salt):
    try:
        pub.verify(sig, digest, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                            salt_length=padding.PSS.AUTO if salt is None else salt), PRE)
        return True
    except (InvalidSignature, ValueError):
        return False


def _pkcs1_verdict(pub, digest, sig):
    try:
        pub.verify(sig, digest, padding.PKCS1v15(), PRE)
        return True
    except (InvalidSignature, ValueError):
        return False


def test_rsa_verdicts_match_cryptography(tmp_path):
    rnd = random.Random(8017)
    keys = [pc.rsa_key(2048), pc.rsa_key(2048), pc.rsa_key(3072), pc.rsa_key(4096)]
    cases, want = [], []

    def add(key, mode, digest, sig, salt=32):
        pub = key.public_key()
        num = pub.public_numbers()
        cases.append(["rsa", mode, "%x" % num.n, "%x" % num.e, digest.hex(), sig.hex(), salt])
        want.append(_pss_verdict(pub, digest, sig, salt) if mode == "pss" else _pkcs1_verdict(pub, digest, sig))

    for i in range(60):
        key = keys[i % len(keys)]
        other = keys[(i + 1) % len(keys)]
        digest = hashlib.sha256(rnd.randbytes(rnd.randrange(0, 300))).digest()
        salt = rnd.choice((32, 32, 20, 0, 64))
        pss = key.sign(digest, pc.pss(salt), PRE)
        pmax = key.sign(digest, pc.pss(padding.PSS.MAX_LENGTH), PRE)
        v15 = key.sign(digest, padding.PKCS1v15(), PRE)
        n = key.public_key().public_numbers().n
        k = (n.bit_length() + 7) // 8
        add(key, "pss", digest, pss, salt)
        add(key, "pss", digest, pss, None)  # "auto" finds the salt
        add(key, "pss", digest, pss, salt + 1)
        add(key, "pss", digest, pmax, None)
        add(key, "pss", digest, pmax, 32)
        add(key, "pkcs1", digest, v15)
        add(key, "pkcs1", digest, pss)
        add(key, "pss", digest, v15, None)
        add(key, rnd.choice(("pss", "pkcs1")), digest, _flip(rnd.choice((pss, v15)), rnd))
        add(key, "pss", _flip(digest, rnd), pss, salt)
        add(key, "pkcs1", _flip(digest, rnd), v15)
        add(other, "pss", digest, pss, salt)  # another key
        add(key, "pkcs1", digest, v15[1:] if v15[0] == 0 else b"\0" + v15)  # one byte short or long
        add(key, "pkcs1", digest, (int.from_bytes(v15, "big") + n).to_bytes(k + 1, "big")[-k:])  # s + n mod 2^8k
    assert sum(want) > len(want) // 4 and not all(want)
    got = [x == "True" for x in device(tmp_path, cases)]
    bad = [(c[1], c[6], w) for c, w, g in zip(cases, want, got) if w != g]
    assert not bad, bad


def _ec_verdict(pub, digest, sig):
    try:
        pub.verify(sig, digest, ec.ECDSA(PRE))
        return True
    except (InvalidSignature, ValueError):
        return False


def _der_int(v, pad=0):
    b = v.to_bytes((v.bit_length() + 8) // 8 or 1, "big")
    b = b"\0" * pad + b
    return b"\x02" + bytes([len(b)]) + b


def test_ecdsa_verdicts_match_cryptography(tmp_path):
    rnd = random.Random(6979)
    keys = [pc.ec_key() for _ in range(4)]
    cases, want = [], []

    def add(key, digest, sig):
        num = key.public_key().public_numbers()
        cases.append(["ec", "%x" % num.x, "%x" % num.y, digest.hex(), sig.hex()])
        want.append(_ec_verdict(key.public_key(), digest, sig))

    for i in range(50):
        key, other = keys[i % 4], keys[(i + 1) % 4]
        digest = hashlib.sha256(b"%d" % i).digest()
        sig = key.sign(digest, ec.ECDSA(PRE))
        r, s = decode_dss_signature(sig)
        add(key, digest, sig)
        add(key, digest, encode_dss_signature(r, N - s))  # high s: valid in ECDSA
        add(key, digest, encode_dss_signature(s, r))
        add(key, digest, _flip(sig, rnd))
        add(key, _flip(digest, rnd), sig)
        add(other, digest, sig)
        add(key, digest, sig + b"\0")
        body = _der_int(r, 1) + _der_int(s)  # a needless leading zero: BER, not DER
        add(key, digest, b"\x30" + bytes([len(body)]) + body)
        body = _der_int(r) + _der_int(s)
        add(key, digest, b"\x30\x81" + bytes([len(body)]) + body)  # long-form length
        add(key, digest, encode_dss_signature(r + N, s) if r + N < 2**256 else sig[:-1])
    assert 50 <= sum(want) < len(want)
    got = [x == "True" for x in device(tmp_path, cases)]
    bad = [(i, w) for i, (w, g) in enumerate(zip(want, got)) if w != g]
    assert not bad, bad


def _expected(leaf, root, now):
    """Our order of checks, each judged with cryptography's reading of the certificates."""
    if leaf.issuer.public_bytes() != root.subject.public_bytes():
        return "issuer_mismatch"
    try:
        if not root.extensions.get_extension_for_class(cx509.BasicConstraints).value.ca:
            return "not_ca"
    except cx509.ExtensionNotFound:
        return "not_ca"
    try:
        if not root.extensions.get_extension_for_class(cx509.KeyUsage).value.key_cert_sign:
            return "ca_key_usage"
    except cx509.ExtensionNotFound:
        pass
    for c, pre in ((leaf, ""), (root, "ca_")):
        if now < c.not_valid_before_utc.timestamp():
            return pre + "not_yet_valid"
        if now > c.not_valid_after_utc.timestamp():
            return pre + "expired"
    key = root.public_key()
    if isinstance(key, rsa.RSAPublicKey) and not 2048 <= key.key_size <= 4096:
        return "unsupported_key"
    if not isinstance(leaf.signature_hash_algorithm, hashes.SHA256):
        return "unsupported_algorithm"
    try:
        leaf.verify_directly_issued_by(root)
        return "ok"
    except (InvalidSignature, ValueError, TypeError):
        return "bad_signature"


def test_issued_by_matches_cryptography(tmp_path):
    R, R2, E, B = pc.rsa_key(), pc.rsa_key(), pc.ec_key(), pc.rsa_key(3072)
    fw_r, fw_e = pc.rsa_key(), pc.ec_key()
    leaf = dict(ca=False, ku="sign", eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    d = datetime.datetime
    roots = {
        "R": pc.make_cert("Root R", R), "E": pc.make_cert("Root E", E), "B": pc.make_cert("Root B", B),
        "R2": pc.make_cert("Root R", R2),  # same name as R, another key
        "NOCA": pc.make_cert("Root N", R2, ca=None), "KU": pc.make_cert("Root K", R2, ku="sign"),
        "OLD": pc.make_cert("Root O", R2, start=d(2010, 1, 1, tzinfo=UTC), end=d(2020, 1, 1, tzinfo=UTC)),
        "WEAK": pc.make_cert("Root W", pc.rsa_key(1024)),
    }
    leaves = []
    for sig in ("pkcs1", "pss", "pss20", "sha384"):
        for key in (fw_r, fw_e):
            leaves.append(("R", pc.make_cert("FW", key, "Root R", R, sig, **leaf)))
            leaves.append(("R2", leaves[-1][1]))  # checked against the impostor root
    leaves += [("E", pc.make_cert("FW", fw_r, "Root E", E, "ecdsa", **leaf)),
               ("E", pc.make_cert("FW", fw_e, "Root E", E, "sha384", **leaf)),
               ("R", pc.make_cert("FW", fw_e, "Root E", E, "ecdsa", **leaf)),  # wrong root
               ("E", pc.make_cert("FW", fw_e, "Root R", R, "pss", **leaf)),
               ("B", pc.make_cert("FW", fw_e, "Root B", B, "pss", **leaf)),
               ("NOCA", pc.make_cert("FW", fw_e, "Root N", R2, "pkcs1", **leaf)),
               ("KU", pc.make_cert("FW", fw_e, "Root K", R2, "pkcs1", **leaf)),
               ("OLD", pc.make_cert("FW", fw_e, "Root O", R2, "pkcs1", start=d(2011, 1, 1, tzinfo=UTC),
                                    end=d(2030, 1, 1, tzinfo=UTC), **leaf)),
               ("R", pc.make_cert("FW", fw_e, "Root R", R, "pss", start=d(2020, 1, 1, tzinfo=UTC),
                                  end=d(2022, 1, 1, tzinfo=UTC), **leaf)),  # before its root
               ("R", pc.make_cert("FW", fw_e, "Root R", R, "pss", start=d(2030, 1, 1, tzinfo=UTC), **leaf))]
    weak = roots["WEAK"]
    leaves.append(("WEAK", cx509.CertificateBuilder().subject_name(pc.name("FW")).issuer_name(weak.subject)
                   .public_key(fw_e.public_key()).serial_number(5).not_valid_before(pc.START)
                   .not_valid_after(pc.END).sign(fw_r, hashes.SHA256())))  # signed by another key anyway
    der = serialization.Encoding.DER
    cases = [["root", n, c.public_bytes(der).hex()] for n, c in roots.items()]
    want = ["root"] * len(cases)
    for now in (pc.NOW, 1262304000, 1609459200 + 86400, 1893456000 + 1):  # 2027, 2010, 2021, 2030
        for r, c in leaves:
            cases.append(["cert", r, c.public_bytes(der).hex(), now])
            want.append(_expected(c, roots[r], now))
    assert {"ok", "issuer_mismatch", "bad_signature", "not_ca", "ca_key_usage", "expired", "not_yet_valid",
            "ca_expired", "ca_not_yet_valid", "unsupported_algorithm", "unsupported_key"} <= set(want)
    got = device(tmp_path, cases)
    bad = [(i, w, g) for i, (w, g) in enumerate(zip(want, got)) if w != g]
    assert not bad, bad


def test_device_keys_signatures_and_csrs_read_back(tmp_path):
    rnd = random.Random(2986)
    keys = [pc.ec_key() for _ in range(3)]
    subjects = [("ACME Charging", "PILE-0001"), ("Zürich Laden AG", "SN 42"), ("o" * 64, "c" * 64),
                ("CPO, Inc. + \"quoted\"", "X")]
    cases = []
    for k in keys:
        d = k.private_numbers().private_value.to_bytes(32, "big")
        for _ in range(5):
            cases.append(["sign", d.hex(), hashlib.sha256(rnd.randbytes(40)).hexdigest()])
        for cpo, serial in subjects:
            cases.append(["csr", d.hex(), cpo, serial])
    cases += [["gen"] for _ in range(3)]
    cases += [["csr", keys[0].private_numbers().private_value.to_bytes(32, "big").hex(), "", "S"],
              ["csr", keys[0].private_numbers().private_value.to_bytes(32, "big").hex(), "O" * 65, "S"]]
    out = device(tmp_path, cases)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    for c, line in zip(cases, out):
        if c[0] == "sign":
            key = keys[[k.private_numbers().private_value for k in keys].index(int(c[1], 16))]
            tag, sig = line.split()
            key.public_key().verify(bytes.fromhex(sig), bytes.fromhex(c[2]), ec.ECDSA(PRE))
        elif c[0] == "csr" and c[2] and len(c[2]) <= 64:
            tag, spki_hex, pem_hex = line.split()
            text = bytes.fromhex(pem_hex)
            assert len(text) <= 5500
            req = cx509.load_pem_x509_csr(text)
            assert req.is_signature_valid
            assert req.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == c[2]
            assert req.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == c[3]
            assert len(req.subject) == 2 and not list(req.extensions)
            assert isinstance(req.signature_hash_algorithm, hashes.SHA256)
            host = ec.derive_private_key(int(c[1], 16), ec.SECP256R1()).public_key()
            assert req.public_key().public_numbers() == host.public_numbers()
            assert bytes.fromhex(spki_hex) == host.public_bytes(serialization.Encoding.DER, spki)
        elif c[0] == "gen":
            tag, d, spki_hex, pem_hex = line.split()
            priv = serialization.load_pem_private_key(bytes.fromhex(pem_hex), None)
            assert priv.private_numbers().private_value == int(d, 16)
            assert priv.public_key().public_bytes(serialization.Encoding.DER, spki) == bytes.fromhex(spki_hex)
            msg = b"mbedTLS signs with this key in TLS"
            priv.public_key().verify(priv.sign(msg, ec.ECDSA(hashes.SHA256())), msg, ec.ECDSA(hashes.SHA256()))
        else:
            assert line == "bad_subject", (c, line)
    assert len({line.split()[1] for c, line in zip(cases, out) if c[0] == "gen"}) == 3  # fresh keys
