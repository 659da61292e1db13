"""RSA signature verification with SHA-256 (RFC 8017): RSASSA-PSS and RSASSA-PKCS1-v1_5.

Both take the SHA-256 digest, never the message: a firmware file is hashed by the caller
with hashlib.sha256 as it streams, and only this step runs on the digest. The public key is
(n, e) as ints; keys of 2048 to 4096 bits and odd exponents 3 <= e < 2^32 are accepted
(the whitepaper asks for >= 2048; larger moduli or exponents would only cost time).
A verify is one built-in pow(s, e, n) (~1 ms for 2048 bits under micropython on a PC,
docs/pki.md) and a few SHA-256 calls; nothing is kept between calls. Both return a bool
and never raise on a malformed signature.
"""
from hashlib import sha256

MIN_BITS = 2048
MAX_BITS = 4096

# DigestInfo for SHA-256 (RFC 8017 9.2 note 1): what PKCS#1 v1.5 puts before the digest.
_DIGEST_INFO = b"\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20"
_HLEN = 32


def bit_length(n):
    """int.bit_length(), which MicroPython lacks: a binary search with shifts (formatting
    the number as hex would build a string of 1 KB for a 4096-bit key, in growing steps
    that fragment a small heap)."""
    if n <= 0:
        return 0
    hi = 1
    while n >> hi:
        hi <<= 1
    lo = hi >> 1  # n >> lo != 0, n >> hi == 0
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if n >> mid:
            lo = mid
        else:
            hi = mid
    return hi


def key_ok(n, e):
    """True when (n, e) is a key we verify with: 2048-4096 bits, odd n, odd 3 <= e < 2^32."""
    if not isinstance(n, int) or not isinstance(e, int):
        return False
    return MIN_BITS <= bit_length(n) <= MAX_BITS and n & 1 and e & 1 and 3 <= e < 1 << 32


def _open(n, e, sig, size):
    """RSAVP1: the signature as an int below n raised to e, as `size` bytes; None if invalid."""
    if not key_ok(n, e):
        return None
    try:
        if len(sig) != (bit_length(n) + 7) // 8:
            return None
        s = int.from_bytes(bytes(sig), "big")
    except (TypeError, ValueError):
        return None
    if s >= n:
        return None
    m = pow(s, e, n)
    if m >> (8 * size):
        return None  # only when the modulus is 8k+1 bits: EM is then one byte shorter
    return m.to_bytes(size, "big")


def _digest_ok(digest):
    try:
        return len(digest) == _HLEN
    except TypeError:
        return False


def verify_pkcs1(n, e, digest, sig):
    """RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2.2): the encoding is rebuilt and compared
    whole, so no parser of the padding exists to be fooled. The DigestInfo must carry the
    NULL parameters (the form RFC 8017 prescribes; the form without them is refused)."""
    if not _digest_ok(digest):
        return False
    k = (bit_length(n) + 7) // 8 if isinstance(n, int) else 0
    em = _open(n, e, sig, k)
    if em is None:
        return False
    t = _DIGEST_INFO + bytes(digest)
    return em == b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t


def _mgf1(seed, n):
    """MGF1 with SHA-256 (RFC 8017 B.2.1): n mask bytes."""
    out = bytearray()
    c = 0
    while len(out) < n:
        h = sha256(seed)
        h.update(c.to_bytes(4, "big"))
        out.extend(h.digest())
        c += 1
    return out[:n]


def verify_pss(n, e, digest, sig, salt_len=32):
    """RSASSA-PSS with SHA-256 and MGF1-SHA-256 (RFC 8017 8.1.2, EMSA-PSS-VERIFY 9.1.2).

    salt_len: the salt length the signer used (a certificate's PSS parameters say it; 32
    is the usual choice for SHA-256); None accepts any length the encoding shows (what
    OpenSSL calls "auto": `openssl dgst -sigopt rsa_padding_mode:pss` signs with the
    longest salt that fits unless told otherwise)."""
    if not _digest_ok(digest) or not isinstance(n, int):
        return False
    if salt_len is not None and (not isinstance(salt_len, int) or salt_len < 0):
        return False
    em_bits = bit_length(n) - 1
    em_len = (em_bits + 7) // 8
    em = _open(n, e, sig, em_len)
    if em is None:
        return False
    if em[-1] != 0xBC or em_len < _HLEN + (salt_len or 0) + 2:
        return False
    db_len = em_len - _HLEN - 1
    h = em[db_len:-1]
    top = 0xFF >> (8 * em_len - em_bits)  # the bits of the first byte that EM may use
    if em[0] & ~top & 0xFF:
        return False
    # DB = maskedDB xor MGF1(H): as ints, one operation instead of a loop over ~220 bytes
    db = int.from_bytes(em[:db_len], "big") ^ int.from_bytes(_mgf1(h, db_len), "big")
    db &= (top << (8 * (db_len - 1))) | ((1 << (8 * (db_len - 1))) - 1)
    db = db.to_bytes(db_len, "big")
    # DB = PS (zeros) || 0x01 || salt
    if salt_len is None:
        i = 0
        while i < db_len and db[i] == 0:
            i += 1
    else:
        i = db_len - salt_len - 1
        for j in range(i):
            if db[j]:
                return False
    if i >= db_len or db[i] != 1:
        return False
    m = sha256(b"\0" * 8)
    m.update(digest)
    m.update(db[i + 1 :])
    return m.digest() == h
