"""Ed25519 signature verification (RFC 8032, strict) for MicroPython and CPython.

verify(public_key, message, signature) -> bool, never raises on malformed input. Rejected:
wrong lengths, S >= L, non-canonical encodings (y >= p, x = 0 with the sign bit set), points
off the curve. The check is cofactorless: encode([S]B - [k]A) must equal the bytes of R.

Speed (bigints cost ~1 us per operation under MicroPython): each point's table holds odd
multiples of P, 2^64 P, 2^128 P and 2^192 P in affine (y+x, y-x, 2dxy) form, so [S]B - [k]A
is one interleaved (Straus) pass of 64 doublings and ~93 mixed additions driven by the
NAFs of S (width 5) and k (width 4). The base point's table is built on first use; a public key's table
is built the first time it is seen and cached (a device trusts a handful of keys), so the
per-signature cost is the multiplication, one inversion and SHA-512 of R || A || M.
Nothing here needs native code; sha512 picks its own fast path.
"""
from sha512 import sha512

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = 37095705934669439343138083508754565189542113879843219016388785533085940283555
_D2 = (2 * _D) % _P
_SQRTM1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752
_BX = 15112221349535400772501151409588531511454012693041857206046113283949847762202
_BY = 46316835694926478169428394003475163141307993866256225615783033603165251855960
_MASK = 2**255 - 1
_BANDS = 4  # the scalar is cut into 4 bands of 64 bits
_BAND = 64
# NAF widths: digits are odd with |d| < 2^(w-1), so a table band holds 2^(w-2) points.
_W_BASE = 5  # 8 points per band (8.7 KB per table on the 64-bit sim)
_W_KEY = 4  # 4 points per band: half the heap of width 5 (~4.4 KB per cached key on the
# sim) for ~5% more time; long-lived tables scattered through a non-moving heap fragment it,
# and the OTA code needs 10-20 KB blocks for envelopes
_CACHE_KEYS = 4  # public keys whose tables are kept (a device signs with one or two)

_SMALL = 2  # width of both tables after small_tables(): one point per band
_small = False
_base = None  # (width, the base point's table), built on first use
_keys = {}  # public key bytes -> (width, table)
# Schedules (per bit position: the additions to do there, see _naf) are reused: a 64-slot
# list is a 512-byte block that a fragmented heap may lack. A pool, not one global, so
# threads on CPython (host tools) never share one; a call that fails never returns its list.
_pool = [[None] * _BAND]  # one made at import, while the heap is still unfragmented


def _decode(s):
    """32 bytes -> affine (x, y), or None when not a canonical point on the curve."""
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= _MASK
    if y >= _P:
        return None
    yy = y * y % _P
    u = (yy - 1) % _P
    v = (_D * yy + 1) % _P
    v3 = v * v % _P * v % _P
    x = u * v3 % _P * pow(u * v3 % _P * v3 % _P * v % _P, (_P - 5) // 8, _P) % _P
    vxx = v * x % _P * x % _P
    if vxx != u:
        if vxx != _P - u:
            return None
        x = x * _SQRTM1 % _P
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def _add(p, q):
    """Extended-coordinate addition (RFC 8032 5.1.4); used only to build tables."""
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = t1 * _D2 % _P * t2 % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def _tight(v):
    """A copy of v without the spare digits a big intermediate left (tables stay long)."""
    return int.from_bytes(v.to_bytes(32, "little"), "little")


def _niels(pts):
    """Extended points -> affine (y+x, y-x, 2dxy), one inversion for all (Montgomery)."""
    n = len(pts)
    pre = [1] * (n + 1)
    for i in range(n):
        pre[i + 1] = pre[i] * pts[i][2] % _P
    inv = _inv(pre[n])
    out = [None] * n
    for i in range(n - 1, -1, -1):
        zi = inv * pre[i] % _P
        inv = inv * pts[i][2] % _P
        px = pts[i][0] * zi % _P
        py = pts[i][1] * zi % _P
        out[i] = (_tight((py + px) % _P), _tight((py - px) % _P), _tight(px * py % _P * _D2 % _P))
    return out


def _table(x, y, w):
    """Per band i: odd multiples 1, 3, .. 2^(w-1)-1 of 2^(64 i) P, as affine Niels triples.

    Built one band at a time so the big projective intermediates of only 8 points are
    alive at once (heap peak), at the price of one inversion per band."""
    tabs = []
    q = (x, y, 1, x * y % _P)
    for band in range(_BANDS):
        if band:
            for _ in range(_BAND):
                q = _add(q, q)
        two = _add(q, q)
        pts = [q]
        for _ in range((1 << (w - 2)) - 1):
            pts.append(_add(pts[-1], two))
        tabs.append(_niels(pts))
        pts = two = None
    return tabs


def _naf(k, w, sched, band_tabs):
    """Width-w NAF of k (< 2^253) into sched: sched[j] gets (table row, digit) for each
    nonzero digit at bit 64*band + j. Only nonzero digits cost anything."""
    mask = (1 << w) - 1
    half = 1 << (w - 1)
    i = 0
    while k:
        if k & 1:
            d = k & mask
            if d >= half:
                d -= mask + 1
            k -= d
            j = i & 63
            e = (band_tabs[i >> 6], d)
            if sched[j] is None:
                sched[j] = [e]
            else:
                sched[j].append(e)
            k >>= w
            i += w
        else:
            k >>= 1
            i += 1


def small_tables(on=True):
    """Width-2 tables for base point and keys: ~2.7 KB instead of ~13 KB on the 64-bit sim,
    verify ~3.6 ms instead of ~2.6 ms here. For a device that verifies one release manifest
    every few hours and needs its heap for the download (firmware/ota/manifest.py)."""
    global _small, _base
    _small = on
    _base = None
    _keys.clear()


def _key_table(pub, w):
    t = _keys.get(pub)
    if t is None or t[0] != w:
        a = _decode(pub)
        if a is None:
            return None
        # -A: the pass computes [S]B + [k](-A)
        t = (w, _table(_P - a[0] if a[0] else 0, a[1], w))
        if len(_keys) >= _CACHE_KEYS:
            try:
                _keys.pop(next(iter(_keys)))
            except (KeyError, RuntimeError, StopIteration):  # another thread evicted first
                pass
        _keys[pub] = t
    return t[1]


def _inv(z):
    """z^(p-2) mod p by the ref10 addition chain (254 squarings, 11 multiplications).

    Cheaper than pow() under MicroPython, whose modular pow divides at every step. Values
    are folded twice at 2^255 (x = lo + 19 hi), which keeps them below 2^256."""
    M = _MASK

    def sq(x, n):
        for _ in range(n):
            x = x * x
            x = (x & M) + 19 * (x >> 255)
            x = (x & M) + 19 * (x >> 255)
        return x

    def mul(x, y):
        x = x * y
        x = (x & M) + 19 * (x >> 255)
        return (x & M) + 19 * (x >> 255)

    z2 = sq(z, 1)
    z9 = mul(sq(z2, 2), z)
    z11 = mul(z9, z2)
    t = mul(sq(z11, 1), z9)  # z^(2^5 - 1)
    t10 = mul(sq(t, 5), t)  # 2^10 - 1
    t20 = mul(sq(t10, 10), t10)
    t = mul(sq(t20, 20), t20)  # 2^40 - 1
    t50 = mul(sq(t, 10), t10)
    t100 = mul(sq(t50, 50), t50)
    t = mul(sq(t100, 100), t100)  # 2^200 - 1
    t = mul(sq(t, 50), t50)  # 2^250 - 1
    return mul(sq(t, 5), z11) % _P  # 2^255 - 21 = p - 2


def _mul2(sched):
    """Sum of the scheduled table points times their digits, Horner over 64 bit positions.

    Returns projective (X, Y, Z). Both the doubling and the mixed addition end in E, F, G, H
    with X = EF, Y = GH, Z = FG (T = EH is computed only when an addition needs it).
    Reduction is lazy: a product is folded once at 2^255 (x = lo + 19 hi, < 2^280) when it
    only feeds another product, twice (< 2^256) when it is a coordinate; values may be
    negative; only the end reduces mod p."""
    M = _MASK
    X, Y, Z, E, H = 0, 1, 1, 0, 1  # the identity
    started = False
    for j in range(_BAND - 1, -1, -1):
        seq = sched[j]
        if seq is None:
            if not started:
                continue
            seq = ()
        i = -1 if started else 0  # step -1 is this position's doubling
        started = True
        while i < len(seq):
            if i < 0:
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
            else:
                # mixed addition of an affine Niels point (Z2 = 1); -P swaps y+x/y-x, negates 2dxy
                tab, d = seq[i]
                c = E * H
                c = (c & M) + 19 * (c >> 255)
                if d > 0:
                    ypx, ymx, t2d = tab[d >> 1]
                    c = c * t2d
                else:
                    ymx, ypx, t2d = tab[(-d) >> 1]
                    c = -c * t2d
                c = (c & M) + 19 * (c >> 255)
                a = (Y - X) * ymx
                a = (a & M) + 19 * (a >> 255)
                b = (Y + X) * ypx
                b = (b & M) + 19 * (b >> 255)
                G = Z + Z
                F = G - c
                G = G + c
                E = b - a
                H = b + a
            i += 1
            X = E * F
            X = (X & M) + 19 * (X >> 255)
            X = (X & M) + 19 * (X >> 255)
            Y = G * H
            Y = (Y & M) + 19 * (Y >> 255)
            Y = (Y & M) + 19 * (Y >> 255)
            Z = F * G
            Z = (Z & M) + 19 * (Z >> 255)
            Z = (Z & M) + 19 * (Z >> 255)
    return X % _P, Y % _P, Z % _P


def verify(public_key, message, signature):
    """True only for a valid RFC 8032 Ed25519 signature; False for anything else.

    message may also be a tuple of bytes-like pieces, signed as their concatenation, so a
    caller never has to join a large message in RAM (dsse does this for PAE)."""
    global _base
    try:
        if len(public_key) != 32 or len(signature) != 64:
            return False
        public_key = bytes(public_key)
        signature = bytes(signature)
    except TypeError:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= _L:
        return False
    r = int.from_bytes(signature[:32], "little")
    ry = r & _MASK
    if ry >= _P:
        return False
    wb, wk = (_SMALL, _SMALL) if _small else (_W_BASE, _W_KEY)
    ta = _key_table(public_key, wk)
    if ta is None:
        return False
    tb = _base  # one read: another thread may replace it
    if tb is None or tb[0] != wb:
        tb = _base = (wb, _table(_BX, _BY, wb))
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
    try:
        sched = _pool.pop()
    except IndexError:
        sched = [None] * _BAND
    _naf(s, wb, sched, tb[1])
    _naf(k, wk, sched, ta)
    x, y, z = _mul2(sched)
    for j in range(_BAND):
        sched[j] = None  # clean before it goes back; holds no table alive
    _pool.append(sched)
    if (y - ry * z) % _P:
        return False  # cheap early reject: y differs, no inversion needed
    x = x * _inv(z) % _P
    return (x & 1) == (r >> 255)
