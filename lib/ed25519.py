"""Ed25519 signature verification (RFC 8032, strict) for MicroPython and CPython.

verify(public_key, message, signature) -> bool, never raises on malformed input. Rejected:
wrong lengths, S >= L, non-canonical encodings (y >= p, x = 0 with the sign bit set), points
off the curve. The check is cofactorless: encode([S]B - [k]A) must equal the bytes of R.

Speed (bigints cost ~1 us per operation under MicroPython): each point's table holds odd
multiples of P, 2^64 P, 2^128 P and 2^192 P in affine (y+x, y-x, 2dxy) form, so [S]B - [k]A
is one interleaved (Straus) pass of 64 doublings and ~85 mixed additions driven by the
width-5 NAFs of S and k. The base point's table is built on first use; a public key's table
is built the first time it is seen and cached (a device trusts a handful of keys), so the
per-signature cost is the multiplication, one inversion and SHA-512 of R || A || M.
"""
import array

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
_W = 5  # NAF width: digits are odd, |d| < 16, so 8 table entries per band
_TAB = 8
_CACHE_KEYS = 4  # decompressed public keys kept (their tables: ~10 KB each)

_base = None  # the base point's table, built on first use
_keys = {}  # public key bytes -> table


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


def _table(x, y):
    """Odd multiples 1..15 of 2^(64 i) P for each band i, as affine Niels triples."""
    pts = []
    q = (x, y, 1, x * y % _P)
    for band in range(_BANDS):
        if band:
            for _ in range(_BAND):
                q = _add(q, q)
        two = _add(q, q)
        m = q
        for i in range(_TAB):
            pts.append(m)
            if i < _TAB - 1:
                m = _add(m, two)
    # one inversion for all Z (Montgomery's trick)
    n = len(pts)
    pre = [1] * (n + 1)
    for i in range(n):
        pre[i + 1] = pre[i] * pts[i][2] % _P
    inv = pow(pre[n], _P - 2, _P)
    out = [None] * n
    for i in range(n - 1, -1, -1):
        zi = inv * pre[i] % _P
        inv = inv * pts[i][2] % _P
        px = pts[i][0] * zi % _P
        py = pts[i][1] * zi % _P
        out[i] = ((py + px) % _P, (py - px) % _P, px * py % _P * _D2 % _P)
    return [out[b * _TAB:(b + 1) * _TAB] for b in range(_BANDS)]


def _naf(k):
    """Width-5 NAF of k < 2^256: 256 signed digits, least significant first."""
    out = array.array("b", bytes(257))
    i = 0
    while k:
        if k & 1:
            d = k & 31
            if d > 15:
                d -= 32
            k -= d
            out[i] = d
            k >>= _W
            i += _W
        else:
            k >>= 1
            i += 1
    return out


def _key_table(pub):
    t = _keys.get(pub)
    if t is None:
        a = _decode(pub)
        if a is None:
            return None
        # -A: the pass computes [S]B + [k](-A)
        t = _table(_P - a[0] if a[0] else 0, a[1])
        if len(_keys) >= _CACHE_KEYS:
            _keys.pop(next(iter(_keys)))
        _keys[pub] = t
    return t


def _mul2(ns, tb, nk, ta):
    """[s]B + [k]A' from NAFs and tables: returns projective (X, Y, Z)."""
    P = _P
    X, Y, Z, E, H = 0, 1, 1, 0, 1  # identity; T = E*H, computed only when an addition needs it
    top = _BAND - 1
    while top > 0:
        j = top
        if ns[j] or nk[j] or ns[j + 64] or nk[j + 64] or ns[j + 128] or nk[j + 128] or ns[j + 192] or nk[j + 192]:
            break
        top -= 1
    started = False
    for j in range(top, -1, -1):
        if started:
            # doubling (RFC 8032 5.1.4, a = -1)
            a = X * X % P
            b = Y * Y % P
            c = Z * Z
            c = (c + c) % P
            H = a + b
            E = X + Y
            E = (H - E * E) % P
            G = a - b
            F = c + G
            X = E * F % P
            Y = G * H % P
            Z = F * G % P
        for band in range(8):
            if band & 1:
                d = nk[j + (band >> 1) * 64]
                if not d:
                    continue
                tab = ta[band >> 1]
            else:
                d = ns[j + (band >> 1) * 64]
                if not d:
                    continue
                tab = tb[band >> 1]
            started = True
            if d > 0:
                ypx, ymx, t2d = tab[d >> 1]
            else:
                ymx, ypx, t2d = tab[(-d) >> 1]
                t2d = P - t2d
            # mixed addition with an affine Niels point (Z2 = 1)
            a = (Y - X) * ymx % P
            b = (Y + X) * ypx % P
            c = E * H % P * t2d % P
            dd = Z + Z
            E = b - a
            F = dd - c
            G = dd + c
            H = b + a
            X = E * F % P
            Y = G * H % P
            Z = F * G % P
    return X, Y, Z


def verify(public_key, message, signature):
    """True only for a valid RFC 8032 Ed25519 signature; False for anything else."""
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
    ta = _key_table(public_key)
    if ta is None:
        return False
    if _base is None:
        _base = _table(_BX, _BY)
    h = sha512(signature[:32])
    h.update(public_key)
    try:
        h.update(message)
    except TypeError:
        return False
    k = int.from_bytes(h.digest(), "little") % _L
    x, y, z = _mul2(_naf(s), _base, _naf(k), ta)
    if (y - ry * z) % _P:
        return False  # cheap early reject: y differs, no inversion needed
    zi = pow(z, _P - 2, _P)
    x = x * zi % _P
    return (x & 1) == (r >> 255)
