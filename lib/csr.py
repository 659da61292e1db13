"""PKCS#10 certificate signing requests (RFC 2986) for the pile's EC P-256 key, as the
whitepaper's SignCertificate sends them: subject O = CpoName, CN = the charge point's serial
number, signed ecdsa-with-SHA256, PEM. About 470 characters (the limit is 5500).
"""
from hashlib import sha256

import eckey
from der import PKIError, enc, SEQUENCE, SET, BIT_STRING
import pem

_O = b"\x06\x03\x55\x04\x0a"
_CN = b"\x06\x03\x55\x04\x03"
_ECDSA_SHA256 = b"\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02"  # AlgorithmIdentifier
_MAX_CHARS = 64  # RFC 5280 A.1: ub-organization-name and ub-common-name


def _value(what, s):
    """A name attribute value as UTF8String (RFC 5280 4.1.2.6: the encoding for new names)."""
    if not isinstance(s, str) or not 0 < len(s) <= _MAX_CHARS:
        raise PKIError("bad_subject", "%s must be 1-%d characters" % (what, _MAX_CHARS))
    for ch in s:
        if ord(ch) < 0x20 or ord(ch) == 0x7F:
            raise PKIError("bad_subject", "control character in %s" % what)
    return enc(0x0C, s.encode())


def subject(cpo_name, serial):
    """Name DER: O=cpo_name, CN=serial, in that order (most general first, RFC 4514 reverses it)."""
    return enc(SEQUENCE,
               enc(SET, enc(SEQUENCE, _O, _value("CpoName", cpo_name))),
               enc(SET, enc(SEQUENCE, _CN, _value("serial", serial))))


def build_der(d, cpo_name, serial, point=None):
    """CertificationRequest DER for private key d (32 bytes); point: its public point, when
    the caller has it (saves computing d*G again)."""
    name = subject(cpo_name, serial)
    x, y = point or eckey.public_point(d)
    info = enc(SEQUENCE, b"\x02\x01\x00", name, eckey.spki(x, y), b"\xa0\x00")  # v1, no attributes
    sig = eckey.sign(d, sha256(info).digest())
    return enc(SEQUENCE, info, _ECDSA_SHA256, enc(BIT_STRING, b"\0", sig))


def build(d, cpo_name, serial, point=None):
    """The CSR as PEM bytes ("CERTIFICATE REQUEST"), what SignCertificate.req carries."""
    return pem.encode(build_der(d, cpo_name, serial, point), "CERTIFICATE REQUEST")
