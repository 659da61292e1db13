"""NIST P-256 (secp256r1) arithmetic and ECDSA verification with SHA-256 (FIPS 186-5, SEC 1).

verify(x, y, digest, sig) -> bool for a DER Ecdsa-Sig-Value; verify_rs for (r, s) as ints.
Never raises on malformed input; imports nothing (the OTA signature step loads only this).
Public points are validated (coordinates below p, on the curve; the point at infinity has
no encoding); high s is accepted, as ECDSA allows.
Points are Jacobian (X, Y, Z), x = X/Z^2, y = Y/Z^3, infinity when Z = 0, so the only
inversions are the final one (x of the result; replaced by a comparison in verify) and one
for G + Q. u1*G + u2*Q is one Shamir pass over the 256 bits of both scalars: a doubling per
bit (a = -3: dbl-2001-b) and, where either bit is set, one mixed addition of G, Q or G + Q.
Plain Python ints, every product reduced with % p: under MicroPython the built-in modulo
beats any fold written in Python. No tables, no state between calls. Not constant-time:
verification handles public data only; lib/eckey signs rarely (docs/pki.md).
"""
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5


def on_curve(x, y):
    """y^2 = x^3 - 3x + b with both coordinates reduced: a valid public point (the group
    has prime order, so every such point generates it)."""
    if not (isinstance(x, int) and isinstance(y, int) and 0 <= x < P and 0 <= y < P):
        return False
    return (y * y - x * x * x + 3 * x - B) % P == 0


def decode_point(b):
    """SEC 1 2.3.4: 04||X||Y (uncompressed) or 02/03||X (compressed) -> (x, y) on the
    curve, or None."""
    n = len(b)
    if n == 65 and b[0] == 4:
        x = int.from_bytes(b[1:33], "big")
        y = int.from_bytes(b[33:], "big")
    elif n == 33 and b[0] in (2, 3):
        x = int.from_bytes(b[1:], "big")
        if x >= P:
            return None
        y = pow((x * x * x - 3 * x + B) % P, (P + 1) // 4, P)  # p = 3 mod 4: the root, if any
        if y & 1 != b[0] & 1:
            y = P - y
    else:
        return None
    return (x, y) if on_curve(x, y) else None


def encode_point(x, y):
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


def _dbl(X, Y, Z):
    """2(X, Y, Z) (dbl-2001-b, for a = -3)."""
    if not Z:
        return X, Y, 0
    p = P
    d = Z * Z % p
    g = Y * Y % p
    t = X * g % p
    a = 3 * (X - d) * (X + d) % p
    X3 = (a * a - 8 * t) % p
    return X3, (a * (4 * t - X3) - 8 * g * g) % p, 2 * Y * Z % p


def _add(X1, Y1, Z1, x2, y2):
    """(X1, Y1, Z1) + (x2, y2), the second point affine (mixed addition)."""
    if not Z1:
        return x2, y2, 1
    p = P
    zz = Z1 * Z1 % p
    h = (x2 * zz - X1) % p
    r = (y2 * zz * Z1 - Y1) % p
    if not h:
        if r:
            return 0, 1, 0  # P + (-P)
        return _dbl(X1, Y1, Z1)  # the same point: the formula would divide by zero
    hh = h * h % p
    hhh = h * hh % p
    v = X1 * hh % p
    X3 = (r * r - hhh - 2 * v) % p
    return X3, (r * (v - X3) - Y1 * hhh) % p, Z1 * h % p


def affine(X, Y, Z):
    """Jacobian -> (x, y); None for the point at infinity."""
    if not Z:
        return None
    zi = pow(Z, P - 2, P)
    zz = zi * zi % P
    return X * zz % P, Y * zz * zi % P


def mul2(a, b, qx, qy):
    """a*G + b*Q (Jacobian), 0 <= a, b < 2^256, Q a valid point (ignored when b = 0)."""
    t = [None, (GX, GY), None, None]
    if b:
        t[2] = (qx, qy)
        t[3] = affine(*_add(GX, GY, 1, qx, qy))  # None when Q = -G: then that step adds nothing
    X, Y, Z = 0, 1, 0
    i = 255
    while i >= 0 and not (a >> i | b >> i):
        i -= 1
    while i >= 0:
        X, Y, Z = _dbl(X, Y, Z)
        q = t[(a >> i & 1) | (b >> i & 1) << 1]
        if q:
            X, Y, Z = _add(X, Y, Z, q[0], q[1])
        i -= 1
    return X, Y, Z


def verify_rs(x, y, digest, r, s):
    """ECDSA verification (FIPS 186-5 6.4.2) of (r, s) over a 32-byte SHA-256 digest."""
    try:
        if len(digest) != 32:
            return False
        z = int.from_bytes(bytes(digest), "big")
    except (TypeError, ValueError):
        return False
    if not (isinstance(r, int) and isinstance(s, int) and 0 < r < N and 0 < s < N):
        return False
    if not on_curve(x, y):
        return False
    w = pow(s, N - 2, N)
    X, Y, Z = mul2(z * w % N, r * w % N, x, y)
    if not Z:
        return False
    # x(R) mod n == r without an inversion: x(R) = X/Z^2 is r or r + n (if below p)
    zz = Z * Z % P
    if (r * zz - X) % P == 0:
        return True
    return r + N < P and ((r + N) * zz - X) % P == 0


def decode_sig(sig):
    """DER Ecdsa-Sig-Value (SEQUENCE {r INTEGER, s INTEGER}, nothing after) -> (r, s), or
    None unless strict DER. At most 72 bytes, so every length has the short form."""
    n = len(sig)
    if not 8 <= n <= 72 or sig[0] != 0x30 or sig[1] != n - 2:
        return None
    i = 2
    rs = []
    for _ in range(2):
        if i + 2 > n or sig[i] != 2:
            return None
        k = sig[i + 1]
        i += 2
        if not 0 < k <= 33 or i + k > n or sig[i] & 0x80:
            return None  # empty, too long, past the end, or negative
        if sig[i] == 0 and k > 1 and not sig[i + 1] & 0x80:
            return None  # a needless leading zero
        rs.append(int.from_bytes(sig[i : i + k], "big"))
        i += k
    return tuple(rs) if i == n else None


def verify(x, y, digest, sig):
    """verify_rs with the signature in DER, as X.509 and `openssl dgst` write it."""
    try:
        rs = decode_sig(bytes(sig)) if 8 <= len(sig) <= 72 else None  # len first: bytes(10**9)
    except (TypeError, ValueError):
        return False
    return rs is not None and verify_rs(x, y, digest, rs[0], rs[1])
