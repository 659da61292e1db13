"""Ed25519 signature verification (RFC 8032, strict) for MicroPython and CPython.

verify(public_key, message, signature) -> bool, never raises on malformed input. Rejected:
wrong lengths, S >= L, non-canonical encodings (y >= p, x = 0 with the sign bit set), points
off the curve. The check is cofactorless: encode([S]B - [k]A) must equal the bytes of R.

Small on purpose, not fast: under MicroPython a module's bytecode and constants live in the
heap, and the OTA manifest check must fit beside everything else on an ESP32. So there are
no tables, no caches and no state between calls: [S]B + [k](-A) is one Shamir pass over the
253 bits of S and k (a doubling per bit, plus an addition of B, -A or B - A where either bit
is set), every product is reduced with % p (two folds at 2^255 cost the same under
MicroPython, in more code), and the square root (decoding A) and the final inversion are the
built-in pow(x, e, p). Importing it costs ~3 KB of heap on the 64-bit Unix port, plus ~3 KB for
sha512, and a verify leaves nothing behind. Speed is what a device that verifies one manifest
every few hours can afford: under micropython on a PC ~10 ms per verify, plus ~4 ms per KB of
message for SHA-512 (bench/ed25519.py).
"""
from sha512 import sha512

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = 37095705934669439343138083508754565189542113879843219016388785533085940283555
_SQRTM1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752
_BX = 15112221349535400772501151409588531511454012693041857206046113283949847762202
_BY = 46316835694926478169428394003475163141307993866256225615783033603165251855960
_MASK = 2**255 - 1


def _decode(s):
    """32 bytes -> affine (x, y), or None when not a canonical point on the curve (RFC 8032
    5.1.3)."""
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= _MASK
    if y >= _P:
        return None
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x = u * v**3 * pow(u * v**7 % _P, (_P - 5) // 8, _P) % _P  # a root of u/v, if any
    vxx = v * x * x % _P
    if vxx != u:
        if (vxx + u) % _P:
            return None  # u/v is not a square: no point has this y
        x = x * _SQRTM1 % _P
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


# Points are extended coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, xy = T/Z; an addend is
# kept as (Y + X, Y - X, 2d T, 2 Z), what the addition formula uses.
def _niels(p):
    X, Y, Z, T = p
    return Y + X, Y - X, T * 2 * _D % _P, Z + Z


def _out(e, f, g, h):
    """The common end of addition and doubling: (EF, GH, FG, EH)."""
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def _add(p, q):
    """p + q, q in the addend form above (RFC 8032 5.1.4, add-2008-hwcd-3)."""
    X, Y, Z, T = p
    a = (Y - X) * q[1] % _P
    b = (Y + X) * q[0] % _P
    c = T * q[2] % _P
    d = Z * q[3] % _P
    return _out(b - a, d - c, d + c, b + a)


def _double(p):
    """2p (RFC 8032 5.1.4, dbl-2008-hwcd)."""
    X, Y, Z, _ = p
    a = X * X % _P
    b = Y * Y % _P
    h = a + b
    g = a - b
    return _out(h - (X + Y) ** 2 % _P, 2 * Z * Z % _P + g, g, h)


def verify(public_key, message, signature):
    """True only for a valid RFC 8032 Ed25519 signature; False for anything else.

    message may also be a tuple of bytes-like pieces, signed as their concatenation, so a
    caller never has to join a large message in RAM (dsse does this for PAE)."""
    try:
        if len(public_key) != 32 or len(signature) != 64:
            return False
        public_key = bytes(public_key)
        signature = bytes(signature)
    except (TypeError, ValueError):  # not bytes-like (a list of ints above 255: ValueError)
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    r = int.from_bytes(signature[:32], "little")
    ry = r & _MASK
    if ry >= _P:
        return False  # non-canonical R: the comparison at the end works mod p and would not see it
    a = _decode(public_key)
    if a is None:
        return False
    h = sha512(signature[:32])
    h.update(public_key)
    try:
        if isinstance(message, tuple):
            for part in message:
                h.update(part)
        else:
            h.update(message)
    except TypeError:
        return False
    k = int.from_bytes(h.digest(), "little") % _L
    # [S]B + [k](-A), both scalars below 2^253, bits from the top. The addends are B, -A and
    # B - A, the last one with its Z (making it affine would cost an inversion).
    x = _P - a[0]
    y = a[1]
    b = (_BX, _BY, 1, _BX * _BY % _P)
    na = _niels((x, y, 1, x * y % _P))
    q = (_niels(b), na, _niels(_add(b, na)))
    p = (0, 1, 1, 0)  # the neutral point
    for i in range(252, -1, -1):
        p = _double(p)
        j = (s >> i & 1) | (k >> i & 1) << 1
        if j:
            p = _add(p, q[j - 1])
    x, y, z, _ = p
    if (y - ry * z) % _P:
        return False  # y differs: no need for the inversion
    return x * pow(z, _P - 2, _P) % _P & 1 == r >> 255
