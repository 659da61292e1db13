# lib/csr.py inside micropython: the PKCS#10 request's structure, its signature (checked with
# our own reader and verifier here; tests/host/test_pki_host.py checks it with cryptography),
# and the subject rules.
from hashlib import sha256

import csr
import der
import eckey
import p256
import pem
from der import PKIError
from prng import XorShift


def _split(pem_bytes):
    d = next(pem.blocks(pem_bytes, "CERTIFICATE REQUEST"))
    s, e = der.expect(d, 0, len(d), der.SEQUENCE)
    assert e == len(d)
    i_s, i_e = der.expect(d, s, e, der.SEQUENCE)
    a_s, a_e = der.expect(d, i_e, e, der.SEQUENCE)
    g_s, g_e = der.bits(d, *der.expect(d, a_e, e, der.BIT_STRING))
    assert g_e == e
    return d, d[s:i_e], d[i_e:a_e], d[g_s:g_e]


def test_csr_structure_and_signature():
    d = eckey.generate(XorShift(2986).bytes)
    x, y = eckey.public_point(d)
    text = csr.build(d, "ACME Charging", "PILE-0042")
    assert text.startswith(b"-----BEGIN CERTIFICATE REQUEST-----\n") and len(text) <= 5500
    whole, info, alg, sig = _split(text)
    assert alg == b"\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02"  # ecdsa-with-SHA256, no parameters
    s, e = der.expect(info, 0, len(info), der.SEQUENCE)
    vs, ve = der.expect(info, s, e, der.INTEGER)
    assert der.uint(info, vs, ve) == 0  # v1
    ns = ve
    ne = der.expect(info, ns, e, der.SEQUENCE)[1]
    assert info[ns:ne] == csr.subject("ACME Charging", "PILE-0042")
    ke = der.expect(info, ne, e, der.SEQUENCE)[1]
    assert info[ne:ke] == eckey.spki(x, y)
    assert info[ke:] == b"\xa0\x00"  # no attributes
    assert p256.verify(x, y, sha256(info).digest(), sig)
    assert csr.build(d, "ACME Charging", "PILE-0042", (x, y)) == text  # RFC 6979: deterministic
    assert csr.build(d, "ACME Charging", "PILE-0043") != text


def test_subject_attributes():
    name = csr.subject("Zürich Laden", "X")
    # O first, then CN, each a UTF8String (the bytes cryptography encodes for this Name)
    assert name == (b"\x30\x24\x31\x16\x30\x14\x06\x03\x55\x04\x0a\x0c\x0d" + "Zürich Laden".encode()
                    + b"\x31\x0a\x30\x08\x06\x03\x55\x04\x03\x0c\x01X")
    csr.subject("o" * 64, "c" * 64)  # the upper bounds of RFC 5280


def test_bad_subjects_are_refused():
    for cpo, serial in (("", "S"), ("O", ""), ("o" * 65, "S"), ("O", "s" * 65), ("A\nB", "S"), ("O", "S\x00"),
                        ("O", "S\x7f"), (None, "S"), ("O", 42), (b"O", "S")):
        try:
            csr.subject(cpo, serial)
        except PKIError as e:
            assert e.reason == "bad_subject", e.reason
        else:
            raise AssertionError((cpo, serial))
    try:
        csr.build(bytes(32), "O", "S")
    except PKIError as e:
        assert e.reason == "bad_key"
    else:
        raise AssertionError
