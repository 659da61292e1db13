"""X.509 v3 certificates (RFC 5280): the fields the whitepaper's checks need, and the check
that a certificate was issued directly by a given CA certificate.

parse(der) -> dict, reading: tbs (the signed bytes, a memoryview into der), version,
serial (bytes), sig_alg (("pkcs1",), ("pss", salt_len), ("ecdsa",) or None when not one we
verify), sig, issuer/subject (DER bytes) with issuer_cn/issuer_o/subject_cn/subject_o (str
or None), not_before/not_after (unix seconds), key (("rsa", n, e) or ("ec", x, y), or None
with key_error saying why), key_bits (the subjectPublicKey bytes: RFC 6960 issuerKeyHash),
ca and path_len (basicConstraints), key_usage (bit i = KeyUsage bit i, None when absent),
ext_key_usage (tuple of OID bytes, None when absent).
Anything malformed raises der.PKIError(reason, detail), nothing else. What is not read is
listed in docs/pki.md; an unknown extension marked critical is refused (RFC 5280 4.2), so
nothing that could restrict a certificate is ever ignored.
"""
from hashlib import sha256

import der
from der import PKIError, SEQUENCE, SET, INTEGER, BIT_STRING, OCTET_STRING, OID, BOOLEAN, expect, tlv, uint

MAX_CERT = 8192  # DER bytes; a CertificateSigned chain is <= 10000 PEM characters in all
_MAX_ITEMS = 32  # name attributes or extensions per certificate

KU_DIGITAL_SIGNATURE = 1
KU_KEY_CERT_SIGN = 1 << 5
EKU_CODE_SIGNING = b"\x2b\x06\x01\x05\x05\x07\x03\x03"  # 1.3.6.1.5.5.7.3.3
EKU_ANY = b"\x55\x1d\x25\x00"  # 2.5.29.37.0

# OIDs as DER content bytes; compared, never decoded.
_RSA = b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"
_RSA_SHA256 = b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b"
_PSS = b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a"
_EC = b"\x2a\x86\x48\xce\x3d\x02\x01"
_P256 = b"\x2a\x86\x48\xce\x3d\x03\x01\x07"
_ECDSA_SHA256 = b"\x2a\x86\x48\xce\x3d\x04\x03\x02"
_BC = b"\x55\x1d\x13"
_KU = b"\x55\x1d\x0f"
_EKU = b"\x55\x1d\x25"
_IDS = (b"\x55\x1d\x0e", b"\x55\x1d\x23")  # subject/authority key identifiers: hints only
_CN = b"\x55\x04\x03"
_O = b"\x55\x04\x0a"
# AlgorithmIdentifier sha256 with NULL parameters or without (RFC 4055 2.1: accept both),
# and MGF1 with either of them (RFC 4055 3.1).
_SHA256_IDS = (bytes.fromhex("300d06096086480165030402010500"), bytes.fromhex("300b0609608648016503040201"))
_MGF1 = bytes.fromhex("06092a864886f70d010108")


def _err(reason, at, what=""):
    raise PKIError(reason, "%s at %d" % (what, at) if what else "at %d" % at)


def parse(data):
    """A certificate's DER -> dict (module docstring). The dict keeps a view of data."""
    try:
        if isinstance(data, str):  # MicroPython would view a str's bytes
            raise TypeError
        b = memoryview(data)
    except TypeError:
        raise PKIError("bad_type", "certificate is not bytes") from None
    n = len(b)
    if n > MAX_CERT:
        raise PKIError("too_large", "certificate of %d bytes" % n)
    cs, ce = expect(b, 0, n, SEQUENCE)
    if ce != n:
        _err("trailing_data", ce)
    ts, te = expect(b, cs, ce, SEQUENCE)
    # every key at once: one table, where a growing dict would leave its old tables as holes
    c = {"tbs": b[cs:te], "sig_alg": None, "sig": None, "version": 1, "serial": None, "issuer": None,
         "issuer_cn": None, "issuer_o": None, "subject": None, "subject_cn": None, "subject_o": None,
         "not_before": 0, "not_after": 0, "key": None, "key_error": None, "key_bits": None, "ca": False,
         "path_len": None, "key_usage": None, "ext_key_usage": None}
    a_s, a_e = expect(b, te, ce, SEQUENCE)
    alg = b[te:a_e]
    c["sig_alg"] = _sig_alg(b, a_s, a_e)
    ss, se = der.bits(b, *expect(b, a_e, ce, BIT_STRING))
    if se != ce:
        _err("bad_certificate", se, "data after the signature")
    c["sig"] = bytes(b[ss:se])
    _tbs(b, ts, te, alg, c)
    return c


def _tbs(b, pos, end, alg, c):
    t, s, e = tlv(b, pos, end)
    version = 0
    if t == 0xA0:
        vs, ve = expect(b, s, e, INTEGER)
        version = uint(b, vs, ve)
        if ve != e or version > 2:
            _err("bad_version", s)
        t, s, e = tlv(b, e, end)
    c["version"] = version + 1
    if t != INTEGER or not 0 < e - s <= 20:
        _err("bad_serial", s)  # RFC 5280 4.1.2.2: at most 20 octets
    c["serial"] = bytes(b[s:e])
    ae = expect(b, e, end, SEQUENCE)[1]
    if b[e:ae] != alg:
        _err("sig_alg_mismatch", e, "tbsCertificate.signature differs from signatureAlgorithm")
    pos = _name(b, ae, end, c, "issuer")
    vs, ve = expect(b, pos, end, SEQUENCE)
    t, s, e = tlv(b, vs, ve)
    c["not_before"] = der.time(b, t, s, e)
    t, s, e2 = tlv(b, e, ve)
    c["not_after"] = der.time(b, t, s, e2)
    if e2 != ve:
        _err("bad_validity", e2)
    pos = _name(b, ve, end, c, "subject")
    ks, ke = expect(b, pos, end, SEQUENCE)
    _key(b, ks, ke, c)
    pos = ke
    while pos < end:
        t, s, e = tlv(b, pos, end)
        if t in (0x81, 0xA1, 0x82, 0xA2) and version >= 1:
            pass  # issuer/subjectUniqueID: unused since RFC 3280, not needed to check anything
        elif t == 0xA3 and version != 2:
            _err("bad_version", pos, "extensions in a v%d certificate" % (version + 1))
        elif t == 0xA3 and e == end:
            xs, xe = expect(b, s, e, SEQUENCE)
            if xe != e or xs == xe:
                _err("bad_extensions", s)
            _extensions(b, xs, xe, c)
        else:
            _err("bad_tbs", pos, "tag 0x%02x (version %d)" % (t, version + 1))
        pos = e


def _text(b, t, s, e):
    """A directory string's value -> str."""
    try:
        if t == 0x1E:  # BMPString: UTF-16BE without surrogates
            if (e - s) & 1:
                raise ValueError
            return "".join(chr(b[i] << 8 | b[i + 1]) for i in range(s, e, 2))
        if t in (0x0C, 0x13, 0x16, 0x14):  # UTF8, Printable, IA5, Teletex (read as UTF-8)
            return str(bytes(b[s:e]), "utf-8")
    except (ValueError, UnicodeError):
        pass
    raise PKIError("bad_name", "string type 0x%02x at %d" % (t, s))


def _name(b, pos, end, c, which):
    """Name (a SEQUENCE OF SET OF {OID, value}): keeps the DER and the CN and O values;
    checks the whole structure so nothing later can trip on it. -> the end offset."""
    ns, ne = expect(b, pos, end, SEQUENCE)
    c[which] = bytes(b[pos:ne])
    cn = o = None
    count = 0
    while ns < ne:
        rs, re = expect(b, ns, ne, SET)
        if rs == re:
            _err("bad_name", rs, "empty RDN")
        while rs < re:
            as_, ae = expect(b, rs, re, SEQUENCE)
            os_, oe = expect(b, as_, ae, OID)
            t, vs, ve = tlv(b, oe, ae)
            if ve != ae:
                _err("bad_name", ve)
            count += 1
            if count > _MAX_ITEMS:
                raise PKIError("too_large", "more than %d name attributes" % _MAX_ITEMS)
            oid = b[os_:oe]  # a view: compared, never kept
            if oid == _CN:
                cn = _text(b, t, vs, ve)
            elif oid == _O:
                o = _text(b, t, vs, ve)
            rs = ae
        ns = re
    c[which + "_cn"] = cn
    c[which + "_o"] = o
    return ne


def _key(b, s, e, c):
    """subjectPublicKeyInfo -> c["key"], c["key_error"], c["key_bits"]."""
    as_, ae = expect(b, s, e, SEQUENCE)
    os_, oe = expect(b, as_, ae, OID)
    ks, ke = der.bits(b, *expect(b, ae, e, BIT_STRING))
    if ke != e:
        _err("bad_key", ke, "data after the key")
    c["key_bits"] = bytes(b[ks:ke])
    oid = b[os_:oe]
    params = b[oe:ae]
    if oid == _RSA and params == b"\x05\x00":
        rs, re = expect(b, ks, ke, SEQUENCE)
        ns, ne = expect(b, rs, re, INTEGER)
        es, ee = expect(b, ne, re, INTEGER)
        if ee != re or re != ke:
            _err("bad_key", ee, "RSAPublicKey")
        nn = uint(b, ns, ne)
        ev = uint(b, es, ee)
        if not (nn >> 2047 and not nn >> 4096):
            c["key_error"] = "RSA key of %d bytes (2048-4096 bits accepted)" % (ne - ns)
        elif not (nn & 1 and ev & 1 and 3 <= ev < 1 << 32):
            c["key_error"] = "RSA key with an even modulus or exponent, or e out of range"
        else:
            c["key"] = ("rsa", nn, ev)
    elif oid == _EC and params == b"\x06\x08" + _P256:
        import p256

        pt = p256.decode_point(c["key_bits"])
        if pt is None:
            _err("bad_point", ks, "EC key not on P-256")
        c["key"] = ("ec", pt[0], pt[1])
    else:
        c["key_error"] = "key algorithm %s" % bytes(b[as_:ae]).hex()


def _sig_alg(b, s, e):
    """AlgorithmIdentifier content -> ("pkcs1",), ("pss", salt_len), ("ecdsa",), or None."""
    os_, oe = expect(b, s, e, OID)
    oid = b[os_:oe]
    if oid == _RSA_SHA256 and b[oe:e] in (b"", b"\x05\x00"):  # RFC 4055 5: both
        return ("pkcs1",)
    if oid == _ECDSA_SHA256 and oe == e:  # RFC 5758 3.2: parameters absent
        return ("ecdsa",)
    if oid != _PSS or oe == e:
        return None
    # RSASSA-PSS-params (RFC 4055 3.1): [0] hash, [1] MGF1(hash), [2] salt (default 20),
    # [3] trailer 1. The defaults are SHA-1, so SHA-256 needs [0] and [1] present.
    ps, pe = expect(b, oe, e, SEQUENCE)
    if pe != e:
        _err("bad_algorithm", pe)
    hash_ok = mgf_ok = False
    salt = 20
    last = -1
    while ps < pe:
        t, fs, fe = tlv(b, ps, pe)
        k = t - 0xA0
        if not last < k <= 3:
            _err("bad_algorithm", ps, "PSS parameter tag 0x%02x" % t)
        last = k
        if k == 0:
            hash_ok = b[fs:fe] in _SHA256_IDS
        elif k == 1:
            ms, me = expect(b, fs, fe, SEQUENCE)
            mo = expect(b, ms, me, OID)[1]
            mgf_ok = me == fe and b[ms:mo] == _MGF1 and b[mo:me] in _SHA256_IDS
        else:
            vs, ve = expect(b, fs, fe, INTEGER)
            if ve != fe or ve - vs > 2:
                _err("bad_algorithm", fs, "PSS salt length or trailer")
            v = uint(b, vs, ve)
            if k == 2:
                salt = v
            elif v != 1:
                return None
        ps = fe
    return ("pss", salt) if hash_ok and mgf_ok else None


def _extensions(b, pos, end, c):
    seen = []
    while pos < end:
        es, ee = expect(b, pos, end, SEQUENCE)
        os_, oe = expect(b, es, ee, OID)
        oid = b[os_:oe]
        if oid in seen:
            _err("duplicate_extension", pos, bytes(oid).hex())  # RFC 5280 4.2
        seen.append(oid)
        if len(seen) > _MAX_ITEMS:
            raise PKIError("too_large", "more than %d extensions" % _MAX_ITEMS)
        t, s, e = tlv(b, oe, ee)
        critical = False
        if t == BOOLEAN:
            critical = der.boolean(b, s, e)
            t, s, e = tlv(b, e, ee)
        if t != OCTET_STRING or e != ee:
            _err("bad_extension", pos, bytes(oid).hex())
        if oid == _BC:
            _basic_constraints(b, s, e, c)
        elif oid == _KU:
            ks, ke = expect(b, s, e, BIT_STRING)
            unused = b[ks] if ke > ks else 8
            if ke != e or unused > 7 or (ke - ks == 1 and unused):
                _err("bad_extension", ks, "keyUsage")
            ku = 0
            for i in range(8 * (ke - ks - 1) - unused):
                if b[ks + 1 + (i >> 3)] & (0x80 >> (i & 7)):
                    ku |= 1 << i
            c["key_usage"] = ku
        elif oid == _EKU:
            xs, xe = expect(b, s, e, SEQUENCE)
            if xe != e or xs == xe:
                _err("bad_extension", xs, "extKeyUsage")
            usages = []
            while xs < xe:
                us, ue = expect(b, xs, xe, OID)
                if len(usages) >= _MAX_ITEMS:
                    raise PKIError("too_large", "extKeyUsage")
                usages.append(bytes(b[us:ue]))
                xs = ue
            c["ext_key_usage"] = tuple(usages)
        elif critical and oid not in _IDS:
            _err("unknown_critical_extension", pos, bytes(oid).hex())
        pos = ee


def _basic_constraints(b, s, e, c):
    bs, be = expect(b, s, e, SEQUENCE)
    if be != e:
        _err("bad_extension", be, "basicConstraints")
    if bs < be and b[bs] == BOOLEAN:
        t, vs, ve = tlv(b, bs, be)
        c["ca"] = der.boolean(b, vs, ve)
        bs = ve
    if bs < be:
        vs, ve = expect(b, bs, be, INTEGER)
        if ve != be or ve - vs > 2:
            _err("bad_extension", bs, "pathLenConstraint")
        c["path_len"] = uint(b, vs, ve)


def load_pem(src, limit=8):
    """Every CERTIFICATE block of a PEM text (or stream) parsed, in order -> list."""
    import pem

    out = []
    for d in pem.blocks(src):
        if len(out) >= limit:
            raise PKIError("too_many", "more than %d certificates" % limit)
        out.append(parse(d))
    if not out:
        raise PKIError("bad_pem", "no CERTIFICATE block")
    return out


def serial_hex(c):
    """The serial number as lowercase hex without leading zeros (OCPP CertificateHashData)."""
    h = c["serial"].hex().lstrip("0")
    return h or "0"


def verify_signature(key, alg, digest, sig):
    """True when sig over a SHA-256 digest verifies with key under alg (as parse gives
    them). Loads only the module the key needs."""
    if key is None or alg is None:
        return False
    if key[0] == "rsa":
        import rsa

        if alg[0] == "pss":
            return rsa.verify_pss(key[1], key[2], digest, sig, alg[1])
        return alg[0] == "pkcs1" and rsa.verify_pkcs1(key[1], key[2], digest, sig)
    import p256

    return alg[0] == "ecdsa" and p256.verify(key[1], key[2], digest, sig)


def check_issued(cert, ca, now=None):
    """Raises PKIError unless cert was issued by ca, with no certificate between them (the
    whitepaper's rule for a firmware signing certificate and a ManufacturerRootCertificate):
    cert's issuer is ca's subject (byte for byte), ca has basicConstraints cA and, when it
    has keyUsage, keyCertSign; both are valid at `now` (unix seconds; None skips dates, for
    a pile whose clock is not set); ca's key verifies cert's signature."""
    if cert["issuer"] != ca["subject"]:
        raise PKIError("issuer_mismatch", "issuer %s, CA %s" % (cert["issuer_cn"], ca["subject_cn"]))
    if not ca["ca"]:
        raise PKIError("not_ca", "no basicConstraints cA in %s" % ca["subject_cn"])
    if ca["key_usage"] is not None and not ca["key_usage"] & KU_KEY_CERT_SIGN:
        raise PKIError("ca_key_usage", "keyUsage without keyCertSign")
    if now is not None:
        for c, pre in ((cert, ""), (ca, "ca_")):
            if now < c["not_before"]:
                raise PKIError(pre + "not_yet_valid", "from %d, now %d" % (c["not_before"], now))
            if now > c["not_after"]:
                raise PKIError(pre + "expired", "until %d, now %d" % (c["not_after"], now))
    if ca["key"] is None:
        raise PKIError("unsupported_key", ca["key_error"])
    if cert["sig_alg"] is None:
        raise PKIError("unsupported_algorithm", "certificate signature algorithm")
    if (ca["key"][0] == "ec") != (cert["sig_alg"][0] == "ecdsa"):
        raise PKIError("unsupported_algorithm", "%s key, %s signature" % (ca["key"][0], cert["sig_alg"][0]))
    if not verify_signature(ca["key"], cert["sig_alg"], sha256(cert["tbs"]).digest(), cert["sig"]):
        raise PKIError("bad_signature", "certificate not signed by %s" % ca["subject_cn"])


def check_issued_by_any(cert, cas, now=None):
    """check_issued against each CA of cas named as cert's issuer (two roots may share a
    name during a key rollover) -> the one that issued cert. Otherwise raises the last
    candidate's PKIError, or issuer_mismatch when no CA has the name."""
    err = PKIError("issuer_mismatch", "no CA named %s" % cert["issuer_cn"])
    for ca in cas:
        if ca["subject"] == cert["issuer"]:
            try:
                check_issued(cert, ca, now)
                return ca
            except PKIError as e:
                err = e
    raise err


def check_usage(cert, key_usage=0, eku=None):
    """Raises PKIError when cert has keyUsage without the bits of key_usage, or
    extKeyUsage without eku (or anyExtendedKeyUsage). An absent extension allows all."""
    ku = cert["key_usage"]
    if ku is not None and ku & key_usage != key_usage:
        raise PKIError("key_usage", "keyUsage 0x%x lacks 0x%x" % (ku, key_usage))
    usages = cert["ext_key_usage"]
    if eku and usages is not None and eku not in usages and EKU_ANY not in usages:
        raise PKIError("ext_key_usage", "extKeyUsage lacks %s" % eku.hex())
