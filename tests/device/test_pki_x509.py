# lib/x509.py inside micropython: fields of certificates made by `cryptography`
# (tests/device/vectors/x509_fixtures.pem, written by tests/host/pki_certs.py), the
# issued-by check and each of its refusals, firmware signatures, and hand-built
# malformed certificates.
from binascii import unhexlify
from hashlib import sha256

import der
import p256
import pem
import pkivec
import x509
from der import PKIError

NOW = 1798761600  # 2027-01-01, inside every fixture's validity but the dated ones
START, END = 1767225600, 2082758400  # 2026-01-01 .. 2036-01-01


def cert(name):
    return x509.load_pem(pkivec.cert_pem(name))[0]


def _reason(f, *args):
    try:
        f(*args)
    except PKIError as e:
        assert isinstance(e.reason, str) and isinstance(e.detail, str)
        return e.reason
    return None


def test_fields_of_a_rsa_root():
    c = cert("root_rsa")
    assert c["version"] == 3 and c["serial"] == b"\x10\x01" and x509.serial_hex(c) == "1001"
    assert c["subject_cn"] == c["issuer_cn"] == "uPile Test Root RSA"
    assert c["subject_o"] == "uPile Test" and c["issuer"] == c["subject"]
    assert (c["not_before"], c["not_after"]) == (START, END)
    assert c["ca"] is True and c["path_len"] == 0
    assert c["key_usage"] == x509.KU_KEY_CERT_SIGN | 1 << 6  # keyCertSign, cRLSign
    assert c["ext_key_usage"] is None
    assert c["key"][0] == "rsa" and c["key"][2] == 65537 and c["key"][1] >> 2047 == 1
    assert c["key_error"] is None
    assert c["sig_alg"] == ("pkcs1",) and len(c["sig"]) == 256
    # key_bits is the RSAPublicKey DER (RFC 6960 issuerKeyHash hashes it)
    assert c["key_bits"][:4] == b"\x30\x82\x01\x0a"
    tbs = bytes(c["tbs"])
    assert tbs[0] == 0x30 and der.tlv(tbs, 0, len(tbs))[2] == len(tbs)


def test_fields_of_signing_certificates():
    c = cert("fw_pss")
    assert c["serial"] == b"\x00\xab" and x509.serial_hex(c) == "ab"
    assert c["sig_alg"] == ("pss", 32) and c["subject_cn"] == "Firmware Signing PSS"
    assert c["issuer_cn"] == "uPile Test Root RSA"
    assert c["ca"] is False and c["path_len"] is None
    assert c["key_usage"] == x509.KU_DIGITAL_SIGNATURE
    assert c["ext_key_usage"] == (x509.EKU_CODE_SIGNING,)
    e = cert("fw_ec")
    assert e["key"][0] == "ec" and p256.on_curve(e["key"][1], e["key"][2])
    assert e["sig_alg"] == ("ecdsa",) and len(e["key_bits"]) == 65
    assert cert("fw_pss20")["sig_alg"] == ("pss", 20)
    assert cert("fw_sha384")["sig_alg"] is None  # parsed; refused only when checked
    v = cert("fw_v15")  # no basicConstraints, no keyUsage, no extKeyUsage
    assert v["ca"] is False and v["key_usage"] is None and v["ext_key_usage"] is None
    assert cert("fw_2051")["not_after"] == 2569235405  # GeneralizedTime past 2049
    w = cert("root_1024")
    assert w["key"] is None and "RSA" in w["key_error"]
    assert cert("fw_noncritical")["subject_cn"] == "Firmware Signing Noncritical"
    assert _reason(cert, "fw_critical") == "unknown_critical_extension"


def test_issued_by_the_root():
    for leaf, root in (("fw_pss", "root_rsa"), ("fw_v15", "root_rsa"), ("fw_ec", "root_ec"),
                       ("fw_pss20", "root_rsa"), ("fw_2051", "root_rsa"), ("fw_by_4096", "root_4096"),
                       ("fw_noncritical", "root_rsa"), ("root_rsa", "root_rsa"), ("root_ec", "root_ec")):
        x509.check_issued(cert(leaf), cert(root), NOW)
        x509.check_issued(cert(leaf), cert(root))  # clock not set: dates skipped


def test_each_refusal():
    cases = (
        ("fw_pss", "other_root", NOW, "issuer_mismatch"),
        ("fw_pss", "root_ec", NOW, "issuer_mismatch"),
        ("fw_pss", "fw_v15", NOW, "issuer_mismatch"),
        ("fw_impostor", "root_rsa", NOW, "bad_signature"),  # same issuer name, another key
        ("fw_pss", "impostor_root", NOW, "bad_signature"),
        ("fw_by_notca", "notca_root", NOW, "not_ca"),
        ("fw_by_ku", "ku_root", NOW, "ca_key_usage"),
        ("fw_by_1024", "root_1024", NOW, "unsupported_key"),
        ("fw_sha384", "root_rsa", NOW, "unsupported_algorithm"),
        ("fw_expired", "root_rsa", NOW, "expired"),
        ("fw_future", "root_rsa", NOW, "not_yet_valid"),
        ("fw_pss", "root_rsa", START - 1, "not_yet_valid"),
        ("fw_pss", "root_rsa", END + 1, "expired"),
        ("fw_2051", "root_rsa", END + 1, "ca_expired"),
        ("fw_expired", "root_rsa", 1590969600, "ca_not_yet_valid"),  # 2020-06-01
    )
    for leaf, root, now, reason in cases:
        got = _reason(x509.check_issued, cert(leaf), cert(root), now)
        assert got == reason, (leaf, root, got, reason)
    x509.check_issued(cert("fw_pss"), cert("root_rsa"), START)  # the bounds are inclusive
    x509.check_issued(cert("fw_pss"), cert("root_rsa"), END)
    x509.check_issued(cert("fw_expired"), cert("root_rsa"))  # no clock: dates skipped


def test_issued_by_any_of_the_installed_roots():
    leaf = cert("fw_pss")
    other, impostor, real = cert("other_root"), cert("impostor_root"), cert("root_rsa")
    assert x509.check_issued_by_any(leaf, [other, impostor, real, cert("root_ec")], NOW) is real
    assert x509.check_issued_by_any(leaf, [real, impostor], NOW) is real
    assert _reason(x509.check_issued_by_any, leaf, [other, cert("root_ec")], NOW) == "issuer_mismatch"
    assert _reason(x509.check_issued_by_any, leaf, [], NOW) == "issuer_mismatch"
    assert _reason(x509.check_issued_by_any, leaf, [other, impostor], NOW) == "bad_signature"
    assert _reason(x509.check_issued_by_any, cert("fw_expired"), [impostor, real], NOW) == "expired"


def test_a_damaged_signature_or_tbs_is_refused():
    for leaf, root in (("fw_pss", "root_rsa"), ("fw_v15", "root_rsa"), ("fw_ec", "root_ec")):
        good = next(pem.blocks(pkivec.cert_pem(leaf)))
        ca = cert(root)
        x509.check_issued(x509.parse(good), ca, NOW)
        subject = good.find(b"Firmware Signing")  # in the subject only: not the issuer's name
        for at in (len(good) - 5, subject, subject + 10):
            bad = bytearray(good)
            bad[at] ^= 0x04  # another ASCII letter: the name still decodes
            reason = _reason(lambda: x509.check_issued(x509.parse(bytes(bad)), ca, NOW))
            assert reason == "bad_signature", (leaf, at, reason)


def test_usage():
    x509.check_usage(cert("fw_pss"), x509.KU_DIGITAL_SIGNATURE, x509.EKU_CODE_SIGNING)
    x509.check_usage(cert("fw_v15"), x509.KU_DIGITAL_SIGNATURE, x509.EKU_CODE_SIGNING)  # no extensions
    assert _reason(x509.check_usage, cert("root_rsa"), x509.KU_DIGITAL_SIGNATURE) == "key_usage"
    server_auth = b"\x2b\x06\x01\x05\x05\x07\x03\x01"
    assert _reason(x509.check_usage, cert("fw_pss"), 0, server_auth) == "ext_key_usage"


def _fw_sigs():
    for f in pkivec.lines("x509_fw_sigs.txt"):
        if f[0] != "key":
            yield f[0], f[1], unhexlify(f[2])


def test_firmware_signatures():
    data = bytes(i * 7 & 255 for i in range(3000))
    h = sha256()
    for i in range(0, 3000, 512):  # hashed as the OTA download hashes it: in pieces
        h.update(data[i:i + 512])
    digest = h.digest()
    other = sha256(data[1:]).digest()
    n = 0
    for name, how, sig in _fw_sigs():
        key = cert(name)["key"]
        alg = {"pss32": ("pss", 32), "pssmax": ("pss", None), "pkcs1": ("pkcs1",), "ecdsa": ("ecdsa",)}[how]
        assert x509.verify_signature(key, alg, digest, sig), how
        assert not x509.verify_signature(key, alg, other, sig), how
        if how == "pssmax":
            assert not x509.verify_signature(key, ("pss", 32), digest, sig)
        if how == "pss32":
            assert not x509.verify_signature(key, ("pkcs1",), digest, sig)
            assert not x509.verify_signature(cert("root_rsa")["key"], alg, digest, sig)
        if how == "ecdsa":
            assert not x509.verify_signature(cert("root_ec")["key"], alg, digest, sig)
            assert not x509.verify_signature(key, ("pss", 32), digest, sig)
        n += 1
    assert n == 4
    for f in pkivec.lines("x509_fw_sigs.txt"):  # the keys the heap test uses without x509
        if f[0] == "key":
            assert cert(f[1])["key"] == (f[2], int(f[3], 16), int(f[4], 16))
    assert not x509.verify_signature(None, ("pkcs1",), digest, b"")
    assert not x509.verify_signature(cert("fw_v15")["key"], None, digest, b"")


def test_chains_and_pem_limits():
    text = pkivec.cert_pem("fw_pss") + b"junk between\n" + pkivec.cert_pem("root_rsa")
    chain = x509.load_pem(text)
    assert [c["subject_cn"] for c in chain] == ["Firmware Signing PSS", "uPile Test Root RSA"]
    x509.check_issued(chain[0], chain[1], NOW)
    assert _reason(x509.load_pem, pkivec.cert_pem("fw_pss") * 9) == "too_many"
    assert _reason(x509.load_pem, pkivec.cert_pem("fw_pss") * 3, 2) == "too_many"
    assert _reason(x509.load_pem, b"nothing") == "bad_pem"
    assert _reason(x509.parse, "text") == "bad_type"
    assert _reason(x509.parse, bytes(x509.MAX_CERT + 1)) == "too_large"


# Hand-built certificates: the fixture's tbsCertificate split into its elements, changed,
# and encoded again (the signature no longer matters: these must fail in parse).
def _elements(b, s, e):
    out = []
    while s < e:
        t, cs, ce = der.tlv(b, s, e)
        out.append(bytes(b[s:ce]))
        s = ce
    return out


def _rebuild(name, change):
    d = next(pem.blocks(pkivec.cert_pem(name)))
    cs, ce = der.expect(d, 0, len(d), der.SEQUENCE)
    tbs, alg, sig = _elements(d, cs, ce)
    ts, te = der.expect(tbs, 0, len(tbs), der.SEQUENCE)
    parts = _elements(tbs, ts, te)
    out = change(parts, alg)
    alg = out if isinstance(out, bytes) else alg
    return der.enc(der.SEQUENCE, der.enc(der.SEQUENCE, *parts), alg, sig)


def _exts(parts):
    """The Extension elements of parts[-1] ([3] { SEQUENCE { ... } })."""
    x = parts[-1]
    _, s, e = der.tlv(x, 0, len(x))
    _, s2, e2 = der.tlv(x, s, e)
    return _elements(x, s2, e2)


def _set_exts(parts, exts):
    parts[-1] = der.enc(0xA3, der.enc(der.SEQUENCE, *exts))


def _name(*attrs):
    return der.enc(der.SEQUENCE, *(der.enc(der.SET, der.enc(der.SEQUENCE, der.enc(der.OID, o), v)) for o, v in attrs))


CN = b"\x55\x04\x03"


def put(i, v):
    """A change that sets element i of the tbsCertificate (v: bytes, or a function of the
    outer signatureAlgorithm)."""
    def f(p, a):
        p[i] = v(a) if callable(v) else v
    return f


def test_rebuilt_fixture_still_parses():
    x509.parse(_rebuild("fw_pss", lambda p, a: None))  # the rebuild itself changes nothing
    c = x509.parse(_rebuild("fw_pss", put(5, _name((CN, b"\x1e\x04\x00\x41\x04\x10")))))
    assert c["subject_cn"] == "A\u0410"  # BMPString


def test_malformed_certificates_fail_with_a_reason():
    def dup(p, a):
        x = _exts(p)
        _set_exts(p, x + x[:1])

    def bc_path(p, a):
        x = _exts(p)
        x[0] = der.enc(der.SEQUENCE, b"\x06\x03\x55\x1d\x13", b"\x01\x01\xff",
                       der.enc(der.OCTET_STRING, der.enc(der.SEQUENCE, b"\x01\x01\xff", b"\x02\x03\x01\x00\x00")))
        _set_exts(p, x)

    def ku_unused_bits_but_empty(p, a):
        x = _exts(p)
        x[1] = der.enc(der.SEQUENCE, b"\x06\x03\x55\x1d\x0f", der.enc(der.OCTET_STRING, b"\x03\x01\x07"))
        _set_exts(p, x)

    def bad_boolean(p, a):
        x = _exts(p)
        x[0] = x[0].replace(b"\x01\x01\xff", b"\x01\x01\x01", 1)
        _set_exts(p, x)

    def flip_key(p, a):
        p[6] = p[6][:-1] + bytes([p[6][-1] ^ 1])

    cases = (
        (put(0, b"\xa0\x03\x02\x01\x00"), "bad_version"),  # v1 with extensions
        (put(0, b"\xa0\x03\x02\x01\x03"), "bad_version"),
        (put(1, b"\x02\x15" + b"\x01" * 21), "bad_serial"),
        (put(1, b"\x02\x00"), "bad_serial"),
        (put(1, b"\x04\x01\x01"), "bad_serial"),
        (put(2, lambda a: a.replace(b"\x02\x01\x20", b"\x02\x01\x21")), "sig_alg_mismatch"),
        (lambda p, a: p.append(b"\x05\x00"), "bad_tbs"),  # something after the extensions
        (lambda p, a: p.pop(4), "unexpected"),  # no validity
        (put(5, _name((CN, b"\x0c\x02\xc3\x28"))), "bad_name"),  # bad UTF-8
        (put(5, _name((CN, b"\x02\x01\x05"))), "bad_name"),  # an INTEGER as CN
        (put(5, der.enc(der.SEQUENCE, b"\x31\x00")), "bad_name"),  # empty RDN
        (put(5, _name(*[(b"\x55\x04\x0b", b"\x0c\x01x")] * 33)), "too_large"),
        (put(4, der.enc(der.SEQUENCE, b"\x17\x0d260101000000Z")), "truncated"),
        (put(4, der.enc(der.SEQUENCE, b"\x17\x0d260101000000Z" * 2, b"\x05\x00")), "bad_validity"),
        (dup, "duplicate_extension"),
        (bc_path, "bad_extension"),  # a pathLenConstraint of 3 bytes
        (ku_unused_bits_but_empty, "bad_extension"),
        (bad_boolean, "not_der"),
        (lambda p, a: _set_exts(p, []), "bad_extensions"),  # present but empty
        (flip_key, "bad_point"),  # EC key off the curve
    )
    for change, reason in cases:
        got = _reason(lambda: x509.parse(_rebuild("fw_2051" if reason == "bad_point" else "fw_pss", change)))
        assert got == reason, (reason, got)
    good = next(pem.blocks(pkivec.cert_pem("fw_pss")))
    assert _reason(x509.parse, good + b"\x00") == "trailing_data"
    assert _reason(x509.parse, good[:-1]) == "truncated"
    assert _reason(x509.parse, b"") == "truncated"
