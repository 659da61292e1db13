"""The pile's own EC P-256 key: generation, ECDSA signing with SHA-256, and its encodings.

A private key is the scalar d as 32 big-endian bytes (what the key store keeps); the public
key is the point d*G, exported as SubjectPublicKeyInfo DER (RFC 5480) for a CSR, and the
pair as SEC 1 ECPrivateKey DER/PEM (RFC 5915), the form mbedTLS loads for a TLS client
certificate (security profile 3).
Signing uses a deterministic nonce (RFC 6979 3.2 with HMAC-SHA256): no random number is
needed at signing time, so a weak RNG then cannot leak the key. The pile signs rarely (a
CSR per key; TLS signs inside mbedTLS), and the arithmetic is Python big ints, whose timing
depends on the values: this is not hardened against timing or power analysis, which needs
many signatures with one key to exploit (docs/pki.md).
"""
from hashlib import sha256
import os

import p256
from der import PKIError, enc, enc_uint, SEQUENCE

# SubjectPublicKeyInfo of a P-256 key without the 65-byte point: AlgorithmIdentifier
# {id-ecPublicKey, prime256v1} and the BIT STRING header (RFC 5480 2).
_SPKI_HEAD = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")
_OID_P256 = bytes.fromhex("06082a8648ce3d030107")


def _scalar(d):
    """32-byte private key -> int in [1, n-1], or PKIError."""
    try:
        if len(d) != 32:
            raise PKIError("bad_key", "private key of %d bytes" % len(d))
        k = int.from_bytes(bytes(d), "big")
    except TypeError:
        raise PKIError("bad_key", "private key is not bytes") from None
    if not 0 < k < p256.N:
        raise PKIError("bad_key", "private scalar out of range")
    return k


def generate(rand=os.urandom):
    """A new private key: 32 random bytes, drawn again in the rare case the number is 0 or
    >= n (FIPS 186-5 A.2.2, rejection sampling: no bias). On an ESP32 os.urandom is the
    hardware RNG, truly random while Wi-Fi or Bluetooth is on."""
    while True:
        d = rand(32)
        if len(d) == 32 and 0 < int.from_bytes(d, "big") < p256.N:
            return bytes(d)


def public_point(d):
    """(x, y) of d*G."""
    return p256.affine(*p256.mul2(_scalar(d), 0, 0, 0))


def spki(x, y):
    """The public point as SubjectPublicKeyInfo DER (91 bytes)."""
    return _SPKI_HEAD + p256.encode_point(x, y)


def private_der(d, point=None):
    """SEC 1 ECPrivateKey DER {version 1, d, [0] prime256v1, [1] public point}."""
    _scalar(d)
    x, y = point or public_point(d)
    return enc(SEQUENCE, b"\x02\x01\x01", enc(0x04, bytes(d)), enc(0xA0, _OID_P256),
               enc(0xA1, enc(0x03, b"\0", p256.encode_point(x, y))))


def private_pem(d, point=None):
    import pem

    return pem.encode(private_der(d, point), "EC PRIVATE KEY")


def _hmac(key, *parts):
    """HMAC-SHA256 (RFC 2104) of the concatenated parts; key of at most 64 bytes."""
    k = int.from_bytes(key + bytes(64 - len(key)), "big")
    h = sha256((k ^ int.from_bytes(b"\x36" * 64, "big")).to_bytes(64, "big"))
    for p in parts:
        h.update(p)
    o = sha256((k ^ int.from_bytes(b"\x5c" * 64, "big")).to_bytes(64, "big"))
    o.update(h.digest())
    return o.digest()


def _nonces(x, h1):
    """RFC 6979 3.2 for qlen = hlen = 256: candidate k values, in order."""
    xb = x.to_bytes(32, "big")
    hb = (int.from_bytes(h1, "big") % p256.N).to_bytes(32, "big")  # bits2octets
    v = b"\x01" * 32
    k = _hmac(b"\0" * 32, v, b"\0", xb, hb)
    v = _hmac(k, v)
    k = _hmac(k, v, b"\x01", xb, hb)
    v = _hmac(k, v)
    while True:
        v = _hmac(k, v)
        t = int.from_bytes(v, "big")
        if 0 < t < p256.N:
            yield t
        k = _hmac(k, v, b"\0")
        v = _hmac(k, v)


def sign_rs(d, digest, nonce=None):
    """ECDSA signature (r, s) of a 32-byte SHA-256 digest with private key d (FIPS 186-5
    6.4.1). nonce: k, for known-answer tests only; by default RFC 6979's."""
    x = _scalar(d)
    if len(digest) != 32:
        raise PKIError("bad_digest", "%d bytes" % len(digest))
    z = int.from_bytes(bytes(digest), "big")
    for k in (nonce,) if nonce else _nonces(x, digest):
        pt = p256.affine(*p256.mul2(k, 0, 0, 0))
        r = pt[0] % p256.N if pt else 0
        s = pow(k, p256.N - 2, p256.N) * (z + r * x) % p256.N
        if r and s:
            return r, s
    raise PKIError("bad_nonce", "r or s is 0 for the given k")


def encode_sig(r, s):
    """(r, s) -> DER Ecdsa-Sig-Value."""
    return enc(SEQUENCE, enc_uint(r), enc_uint(s))


def sign(d, digest):
    """DER ECDSA-with-SHA256 signature of a digest, as X.509 and CSRs carry it."""
    return encode_sig(*sign_rs(d, digest))
