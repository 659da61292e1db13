"""Ed25519 signature verification (RFC 8032, strict) for MicroPython and CPython.

verify(public_key, message, signature) -> bool, never raises on malformed input. Rejected:
wrong lengths, S >= L, non-canonical encodings (y >= p, x = 0 with the sign bit set), points
off the curve. Cofactorless, k = SHA-512(R || A || M) mod L: valid when [S]B - [k]A = R.
Nothing is kept between calls (no caches, no per-key tables); the precomputed table of B
(ed25519_table) lives exactly as long as this module. Design and figures: docs/releases.md.
"""
# How: k is traded for half-size scalars, c = d k (mod 8L) with d odd (_half), so the check
# becomes [e]B - [c]A - [d]R = O with e = d S mod L: one Straus pass (_pass) of ~129
# doublings, where a direct [S]B - [k]A takes ~253. c and d go in width-3 NAF over P, 3P of
# A and R (made per call), the two 128-bit halves of e in width-4 NAF over B, 3B, 5B, 7B and
# the same times 2^128 (ed25519_table: 768 bytes, in flash when frozen). Products are folded
# at 2^255 (x = lo + 19 hi) instead of reduced with %: once where they only feed another
# product, twice for a coordinate. A and R are decoded with a square root each (an addition
# chain); there is no inversion.
import sys
from array import array

import ed25519_table
from sha512 import sha512

try:
    from micropython import const
except ImportError:  # CPython: the host's release tools verify with this module too
    const = int

_TB = ed25519_table.T
# Only _TB holds the table: whoever drops ed25519 (firmware.ota.forget) drops it too
del sys.modules["ed25519_table"]
del ed25519_table

_P = const(2**255 - 19)
_L = const(2**252 + 27742317777372353535851937790883648493)
_L8 = const(8 * (2**252 + 27742317777372353535851937790883648493))
_ROOT = const(240615969168004511545033772477625056927)  # isqrt(8 L): where _half stops
_D = const(37095705934669439343138083508754565189542113879843219016388785533085940283555)
_D2 = const(16295367250680780974490674513165176452449235426866156013048779062215315747161)  # 2d mod p
_SQRTM1 = const(19681161376707505956807079304988542015446066515923890162744021073123829784752)
_MASK = const(2**255 - 1)
_HALF = const(2**128 - 1)
_WA = const(3)  # NAF width of c and d: 2^(3-2) = 2 points (P, 3P) of A and of R, made per call
_WB = const(4)  # NAF width of the halves of d S: ed25519_table has 2^(4-2) = 4 points per half


def _mul(x, y):
    x = x * y
    x = (x & _MASK) + 19 * (x >> 255)
    return (x & _MASK) + 19 * (x >> 255)


def _decode(s):
    """32 bytes -> affine (x, y) reduced mod p, or None if not a canonical curve point."""
    # RFC 8032 5.1.3. The root of u/v is u v^3 (u v^7)^((p-5)/8), the power by an addition
    # chain of 2^252 - 3 (251 squarings, 11 products): 2-3x faster than pow() here.
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= _MASK
    if y >= _P:
        return None
    u = y * y % _P
    v = (_D * u + 1) % _P
    u = (u - 1) % _P
    v3 = _mul(_mul(v, v), v)
    uv3 = _mul(u, v3)
    p = [_mul(_mul(uv3, v3), v)]  # z = u v^7; p[i] = z^(2^k - 1) for k = 1, 2, 4, 5, 10, ...
    # each step: square the last power n times, times p[j] (ref10's chain of 2^252 - 3)
    c = b"\x01\x00\x02\x01\x01\x00\x05\x03\x0a\x04\x14\x05\x0a\x04\x32\x07\x64\x08\x32\x07\x02\x00"
    M = _MASK
    for i in range(0, 22, 2):
        x = p[-1]
        n = c[i]
        while n > 1:  # every other square folded once only: 2^270 squared still folds below
            x = x * x  # 2^256 twice; 10% faster than two folds each
            x = (x & M) + 19 * (x >> 255)
            x = x * x
            x = (x & M) + 19 * (x >> 255)
            x = (x & M) + 19 * (x >> 255)
            n -= 2
        if n:
            x = x * x
            x = (x & M) + 19 * (x >> 255)
            x = (x & M) + 19 * (x >> 255)
        p.append(_mul(x, p[c[i + 1]]))
    x = _mul(uv3, p[-1]) % _P  # u v^3 z^(2^252 - 3)
    vxx = _mul(_mul(v, x), x) % _P
    if vxx != u:
        if (vxx + u) % _P:
            return None  # u/v is not a square: no point has this y
        x = x * _SQRTM1 % _P
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def _odd(x, y, n):
    """[P, 3P, .. (2n-1)P] for affine P = (x, y) as addends (Y+X, Y-X, 2dT, 2Z)."""
    # The table of a width-w NAF, n = 2^(w-2): digit d is entry |d| >> 1, negated where used
    # (-Q swaps Y+X and Y-X and negates 2dT), so negatives are not stored. Width 3 (n = 2) for
    # A and R: both tables are live during the whole pass, and width 4 (~1.3 KB a table on the
    # 64-bit port) cost the OTA image update 1 KB more heap for ~60 us.
    t = x * y % _P
    q = (y + x, y - x, _mul(t, _D2), 2)
    out = [q]
    X, Y, Z, T = x, y, 1, t
    while len(out) < n:  # the addition of RFC 8032 5.1.4 (complete: P + P works)
        a = _mul(Y - X, q[1])
        b = _mul(Y + X, q[0])
        c = _mul(T, q[2])
        d = _mul(Z, q[3])
        X, Y, Z, T = _mul(b - a, d - c), _mul(d + c, b + a), _mul(d - c, d + c), _mul(b - a, b + a)
        e = (Y + X, Y - X, _mul(T, _D2), Z + Z)
        if q is out[0]:  # that was 2P: from now on add it to P, 3P, ...
            q = e
            X, Y, Z, T = x, y, 1, t
        else:
            out.append(e)
    return out


def _half(k):
    """(c, d): c = d k (mod 8L), c >= 0, d odd, 0 < |d| < L, both near 2^127.5."""
    # Why [e]B - [c]A - [d]R = O, e = d S mod L, is the RFC check [S]B - [k]A - R = O: it is
    # [d]([S]B - [k]A - R), since B has order L and every curve point's order divides 8L, so
    # [c]A = [d k]A whatever small-order part A has; and the group is cyclic of order 8L with
    # gcd(d, 8L) = 1, so [d]Q = O only for Q = O. (Reducing mod L alone, or an even d, would
    # get keys or R with small-order parts wrong: tests/host/test_crypto_roundtrip.py.)
    # Extended Euclid on (8L, k): every row has r = t k (mod 8L); stopping at the first
    # r <= isqrt(8L) leaves |t| <= 8L / (previous r) < isqrt(8L) + 1. Any size is correct;
    # a large one (rare: a large quotient, or k like L - 1) only takes more doublings.
    r0, r1, t0, t1 = _L8, k, 0, 1
    while r1 > _ROOT:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        t0, t1 = t1, t0 - q * t1
    if t1 & 1:
        return r1, t1
    # t1 even: t0 is odd (consecutive t are coprime), and so is t0 - j t1 for every j. Take
    # the j that balances r0 - j r1 against |t0| + j |t1| (the signs of t alternate), as long
    # as r stays above 0: r1 > 0 here (gcd(8L, k) <= 8 < isqrt(8L)), but r0 - q r1 may be 0,
    # and its t is then a multiple of L.
    q = r0 // r1
    j = (r0 - abs(t0)) // (r1 + abs(t1))
    c, d = r0, t0
    for j in (j, j + 1):
        if 0 <= j <= q and r0 - j * r1 and max(r0 - j * r1, abs(t0 - j * t1)) < max(c, abs(d)):
            c, d = r0 - j * r1, t0 - j * t1
    return c, d


def _naf(k, w, ds, mask, bit, n):
    """Width-w NAF of 0 <= k < 2^n into ds (digit at bit i in ds[i], i <= n); mask[i] |= bit
    where a digit is nonzero."""
    # The bits are read from k's bytes as small ints: v is the window at bit i plus the carry
    # c of a negative digit below (a digit d leaves v - d, a multiple of 2^w, so the next
    # window starts w bits up with carry 1 when d < 0).
    b = k.to_bytes(36, "little")
    m = (1 << w) - 1
    i = c = 0
    while i <= n:
        j = i >> 3
        v = ((b[j] | b[j + 1] << 8 | b[j + 2] << 16) >> (i & 7)) + c
        if not v & 255:
            i += 8  # eight zero digits; the carry stays (the bits were 0 + 0 or all 1 + 1)
            continue
        while not v & 1:
            v >>= 1
            i += 1
        d = v & m  # odd; at least 10 valid bits remain in v, w <= 8
        c = d >> (w - 1)
        ds[i] = d - (m + 1 if c else 0)
        mask[i] |= bit
        i += w


def _pass(ds, ta, tr, mask, n):
    """Sum of digit * 2^bit * point over the four NAFs ds (c, |d|, e low, e high): (X, Y, Z)."""
    # Horner from bit n - 1 down, a doubling per bit. Digit d stands for entry |d| >> 1 of its
    # table, negated for d < 0: ta or tr for the first two, the table of B (half 0 or 1) for
    # the last two, read from its bytes when needed. Projective (X, Y, Z): a doubling and an
    # addition both end in E, F, G, H with X = EF, Y = GH, Z = FG, and T = EH is computed only
    # by an addition, which needs it. An addend is (Y+X, Y-X, 2dT, 2Z), or (y+x, y-x, 2dxy,
    # None) with Z = 1 (B's). A fold x = (x & M) + 19 (x >> 255) takes a 2^520 product below
    # 2^270 and a second one below 2^256: once for a product that only feeds another product,
    # twice for a coordinate. Values may be negative (a fold keeps them congruent); only the
    # caller reduces mod p.
    M = _MASK
    tb = memoryview(_TB)
    X, Y, Z, E, H = 0, 1, 1, 0, 1  # the neutral point
    for i in range(n - 1, -1, -1):
        # doubling (RFC 8032 5.1.4, a = -1)
        a = X * X
        a = (a & M) + 19 * (a >> 255)
        b = Y * Y
        b = (b & M) + 19 * (b >> 255)
        c = Z * Z
        c = (c & M) + 19 * (c >> 255)
        H = a + b
        E = X + Y
        E = E * E
        E = H - ((E & M) + 19 * (E >> 255))
        G = a - b
        F = c + c + G
        X = E * F
        X = (X & M) + 19 * (X >> 255)
        X = (X & M) + 19 * (X >> 255)
        Y = G * H
        Y = (Y & M) + 19 * (Y >> 255)
        Y = (Y & M) + 19 * (Y >> 255)
        Z = F * G
        Z = (Z & M) + 19 * (Z >> 255)
        Z = (Z & M) + 19 * (Z >> 255)
        m = mask[i]
        s = 0
        while m:
            if not m & 1:
                m >>= 1
                s += 1
                continue
            m >>= 1
            d = ds[s][i]
            j = (d if d > 0 else -d) >> 1
            if s < 2:
                ypx, ymx, t2d, z2 = (tr if s else ta)[j]
            else:
                j = (((s - 2) << (_WB - 2)) + j) * 96
                ypx = int.from_bytes(tb[j:j + 32], "little")
                ymx = int.from_bytes(tb[j + 32:j + 64], "little")
                t2d = int.from_bytes(tb[j + 64:j + 96], "little")
                z2 = None
            if d < 0:
                ypx, ymx, t2d = ymx, ypx, -t2d
            s += 1
            # addition (RFC 8032 5.1.4), T = EH
            c = E * H
            c = (c & M) + 19 * (c >> 255)
            c = c * t2d
            c = (c & M) + 19 * (c >> 255)
            a = (Y - X) * ymx
            a = (a & M) + 19 * (a >> 255)
            b = (Y + X) * ypx
            b = (b & M) + 19 * (b >> 255)
            if z2 is None:
                G = Z + Z
            else:
                G = Z * z2
                G = (G & M) + 19 * (G >> 255)
            F = G - c
            G = G + c
            E = b - a
            H = b + a
            X = E * F
            X = (X & M) + 19 * (X >> 255)
            X = (X & M) + 19 * (X >> 255)
            Y = G * H
            Y = (Y & M) + 19 * (Y >> 255)
            Y = (Y & M) + 19 * (Y >> 255)
            Z = F * G
            Z = (Z & M) + 19 * (Z >> 255)
            Z = (Z & M) + 19 * (Z >> 255)
    return X, Y, Z


def verify(public_key, message, signature):
    """True only for a valid RFC 8032 Ed25519 signature; False for anything else. message
    may be a tuple of bytes-like pieces, signed as their concatenation (dsse's PAE)."""
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
    rb = signature[:32]
    a = _decode(public_key)
    if a is None:
        return False
    r = _decode(rb)  # R as a point, for [d]R (R == encode(point) is the same check)
    if r is None:
        return False
    h = sha512(rb)
    h.update(public_key)
    try:
        if isinstance(message, tuple):
            for part in message:
                h.update(part)
        else:
            h.update(message)
    except TypeError:
        return False
    c, d = _half(int.from_bytes(h.digest(), "little") % _L)
    h = None  # its buffers are not needed in the pass
    e = d * s % _L
    # [e]B + [c](-A) + [|d|](-sign(d) R): c >= 0, d odd of either sign. The digits go in
    # four arrays of signed bytes plus a mask of the bits that have any (~0.7 KB in five
    # blocks; a list of addend tuples per bit was ~15 KB and broke the OTA in 64K)
    ks = (c, d if d > 0 else -d, e & _HALF, e >> 128)
    n = 8
    while (ks[0] | ks[1] | ks[2] | ks[3]) >> n:
        n += 8
    n += 1  # all scalars are below 2^(n-1); a NAF may be one digit longer than its scalar
    ds = (array("b", bytes(n)), array("b", bytes(n)), array("b", bytes(n)), array("b", bytes(n)))
    mask = bytearray(n)
    for i in (0, 1, 2, 3):
        _naf(ks[i], _WA if i < 2 else _WB, ds[i], mask, 1 << i, n - 1)
    x, y, z = _pass(ds, _odd((_P - a[0]) % _P, a[1], 1 << (_WA - 2)),
                    _odd(r[0] if d < 0 else (_P - r[0]) % _P, r[1], 1 << (_WA - 2)), mask, n)
    return x % _P == 0 and (y - z) % _P == 0
