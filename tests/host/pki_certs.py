"""Certificates, keys and signatures made with `cryptography` for the PKI tests.

Host tests import it to make certificates on the fly; `python tests/host/pki_certs.py`
rewrites the fixed set the device tests read (tests/device/vectors/x509_fixtures.pem,
each block after a "== <name>" line, and x509_fw_sigs.txt): fixed names, serials and dates, fresh keys each time (the tests assert
behaviour, never key bytes).
"""
import datetime
import hashlib
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

UTC = datetime.timezone.utc
START = datetime.datetime(2026, 1, 1, tzinfo=UTC)
END = datetime.datetime(2036, 1, 1, tzinfo=UTC)
NOW = 1798761600  # 2027-01-01: inside START..END
VECTORS = Path(__file__).resolve().parent.parent / "device" / "vectors"


def firmware(n=3000):
    """The stand-in firmware file the fixture signatures cover (the device test makes the
    same bytes)."""
    return bytes(i * 7 & 255 for i in range(n))


def rsa_key(bits=2048):
    return rsa.generate_private_key(65537, bits)


def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def name(cn, o="uPile Test"):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, o), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def pss(salt=32):
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt)


def make_cert(subject, key, issuer=None, issuer_key=None, sig="pkcs1", serial=0x1000, start=START, end=END,
              ca=True, ku="ca", eku=None, extra=()):
    """A certificate for `key` (a private key) named `subject`, signed by issuer_key (self-signed
    when None). sig: pkcs1 | pss | pss20 | ecdsa | sha384; ca: True/False/None (no
    basicConstraints); ku: "ca" (keyCertSign, cRLSign), "sign" (digitalSignature), None."""
    issuer = issuer or subject
    issuer_key = issuer_key or key
    b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
         .public_key(key.public_key()).serial_number(serial).not_valid_before(start).not_valid_after(end))
    if ca is not None:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
    if ku == "ca":
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    elif ku == "sign":
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    for ext, critical in extra:
        b = b.add_extension(ext, critical=critical)
    algo = hashes.SHA384() if sig == "sha384" else hashes.SHA256()
    padd = {"pss": pss(32), "pss20": pss(20)}.get(sig)
    if isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        return b.sign(issuer_key, algo)
    return b.sign(issuer_key, algo, rsa_padding=padd)


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def sign_file(key, data, how="pss"):
    """A signature over data as `openssl dgst -sha256 -sign` would make it: RSA-PSS (salt 32,
    or "pssmax": the longest), PKCS#1 v1.5, or ECDSA (DER)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    if how == "pkcs1":
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data, pss(padding.PSS.MAX_LENGTH if how == "pssmax" else 32), hashes.SHA256())


def mem_data(path):
    """The DATA file of tests/host/pki_mem.py: keys, signatures over one digest, and
    certificate chains (leaf and root PEM) for each operation it runs."""
    from cryptography.hazmat.primitives.asymmetric import utils

    digest = hashlib.sha256(firmware()).digest()
    pre = utils.Prehashed(hashes.SHA256())
    r, big, e = rsa_key(), rsa_key(4096), ec_key()
    rn, bn, en = r.public_key().public_numbers(), big.public_key().public_numbers(), e.public_key().public_numbers()
    leaf = dict(ca=False, ku="sign", eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    roots = {"rsa": make_cert("Root RSA", r), "ec": make_cert("Root EC", e), "big": make_cert("Root 4096", big)}
    chains = {
        "chain_pss": (make_cert("FW", e, "Root RSA", r, "pss", **leaf), roots["rsa"]),
        "chain_v15": (make_cert("FW", e, "Root RSA", r, "pkcs1", **leaf), roots["rsa"]),
        "chain_ec": (make_cert("FW", r, "Root EC", e, "ecdsa", **leaf), roots["ec"]),
        "chain_pss_4096": (make_cert("FW", e, "Root 4096", big, "pss", **leaf), roots["big"]),
    }
    v = {
        "digest": digest,
        "rsa_n": rn.n.to_bytes(256, "big"), "rsa_e": rn.e.to_bytes(3, "big"),
        "big_n": bn.n.to_bytes(512, "big"), "big_e": bn.e.to_bytes(3, "big"),
        "sig_pss": r.sign(digest, pss(32), pre), "sig_v15": r.sign(digest, padding.PKCS1v15(), pre),
        "sig_big": big.sign(digest, pss(32), pre),
        "ec_x": en.x.to_bytes(32, "big"), "ec_y": en.y.to_bytes(32, "big"),
        "ec_d": e.private_numbers().private_value.to_bytes(32, "big"),
        "sig_ec": e.sign(digest, ec.ECDSA(pre)),
    }
    for name, (lc, rc) in chains.items():
        v[name + "_leaf"], v[name + "_root"] = pem(lc), rc.public_bytes(serialization.Encoding.DER)
    Path(path).write_text("".join("%s %s\n" % (k, b.hex()) for k, b in v.items()))
    return list(chains)


def fixtures():
    """name -> certificate, and the firmware signatures: the device tests' fixed set."""
    r, e, r2, r3 = rsa_key(), ec_key(), rsa_key(), rsa_key()
    fw_r, fw_e = rsa_key(), ec_key()
    leaf = dict(ca=False, ku="sign", eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    root_rsa, root_ec = "uPile Test Root RSA", "uPile Test Root EC"
    crit = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00")
    c = {
        "root_rsa": make_cert(root_rsa, r, serial=0x1001),
        "root_ec": make_cert(root_ec, e, serial=0x1002),
        "fw_pss": make_cert("Firmware Signing PSS", fw_r, root_rsa, r, "pss", 0xAB, **leaf),
        "fw_v15": make_cert("Firmware Signing v1.5", fw_r, root_rsa, r, "pkcs1", 0x2002, ca=None, ku=None),
        "fw_ec": make_cert("Firmware Signing EC", fw_e, root_ec, e, "ecdsa", 0x2003, **leaf),
        "fw_pss20": make_cert("Firmware Signing PSS20", fw_r, root_rsa, r, "pss20", 0x2004, **leaf),
        "fw_sha384": make_cert("Firmware Signing SHA384", fw_r, root_rsa, r, "sha384", 0x2005, **leaf),
        "fw_expired": make_cert("Firmware Signing Old", fw_r, root_rsa, r, "pkcs1", 0x2006,
                                datetime.datetime(2020, 1, 1, tzinfo=UTC), datetime.datetime(2021, 1, 1, tzinfo=UTC), **leaf),
        "fw_future": make_cert("Firmware Signing Future", fw_r, root_rsa, r, "pkcs1", 0x2007,
                               datetime.datetime(2030, 1, 1, tzinfo=UTC), datetime.datetime(2031, 1, 1, tzinfo=UTC), **leaf),
        "fw_2051": make_cert("Firmware Signing 2051", fw_e, root_rsa, r, "pss", 0x2008,
                             end=datetime.datetime(2051, 6, 1, 12, 30, 5, tzinfo=UTC), **leaf),
        "fw_critical": make_cert("Firmware Signing Critical", fw_e, root_rsa, r, "pkcs1", 0x2009,
                                 extra=[(crit, True)], **leaf),
        "fw_noncritical": make_cert("Firmware Signing Noncritical", fw_e, root_rsa, r, "pkcs1", 0x200A,
                                    extra=[(crit, False)], **leaf),
        "impostor_root": make_cert(root_rsa, r2, serial=0x1003),  # same name, another key
        "other_root": make_cert("Other Root", r2, serial=0x1004),
        "notca_root": make_cert("No CA Root", r3, serial=0x1005, ca=None),
        "ku_root": make_cert("Sign Only Root", r3, serial=0x1006, ku="sign"),
    }
    c["fw_impostor"] = make_cert("Firmware Signing Impostor", fw_r, root_rsa, r2, "pkcs1", 0x3001, **leaf)
    c["fw_by_notca"] = make_cert("Firmware Signing by No CA", fw_r, "No CA Root", r3, "pkcs1", 0x3002, **leaf)
    c["fw_by_ku"] = make_cert("Firmware Signing by Sign Only", fw_r, "Sign Only Root", r3, "pkcs1", 0x3003, **leaf)
    weak = rsa_key(1024)
    c["root_1024"] = make_cert("Weak Root", weak, serial=0x1007)
    c["fw_by_1024"] = make_cert("Firmware Signing by Weak", fw_r, "Weak Root", weak, "pkcs1", 0x3004, **leaf)
    big = rsa_key(4096)
    c["root_4096"] = make_cert("Big Root", big, serial=0x1008)
    c["fw_by_4096"] = make_cert("Firmware Signing by Big", fw_e, "Big Root", big, "pss", 0x3005, **leaf)
    data = firmware()
    sigs = [("fw_pss", "pss32", sign_file(fw_r, data)), ("fw_pss", "pssmax", sign_file(fw_r, data, "pssmax")),
            ("fw_v15", "pkcs1", sign_file(fw_r, data, "pkcs1")), ("fw_ec", "ecdsa", sign_file(fw_e, data))]
    return c, sigs


def write_fixtures(out=VECTORS):
    certs, sigs = fixtures()
    text = [b"# Certificates made by tests/host/pki_certs.py (cryptography), each after its name.\n"]
    for n, cert in certs.items():
        text += [b"== %s\n" % n.encode(), pem(cert)]
    (out / "x509_fixtures.pem").write_bytes(b"".join(text))
    lines = ["# Signatures made by tests/host/pki_certs.py over pki_certs.firmware() (3000 bytes,",
             "# byte i = 7i mod 256, sha256 %s), with the keys of the named" % hashlib.sha256(firmware()).hexdigest(),
             "# certificates: <certificate> <how> <signature hex>; then each certificate's public key:",
             "# key <certificate> rsa <n hex> <e hex> | key <certificate> ec <x hex> <y hex>"]
    lines += ["%s %s %s" % (n, how, s.hex()) for n, how, s in sigs]
    for n in ("fw_pss", "fw_ec"):
        pub = certs[n].public_key().public_numbers()
        if hasattr(pub, "n"):
            lines.append("key %s rsa %x %x" % (n, pub.n, pub.e))
        else:
            lines.append("key %s ec %x %x" % (n, pub.x, pub.y))
    (out / "x509_fw_sigs.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    write_fixtures(Path(sys.argv[1]) if len(sys.argv) > 1 else VECTORS)
