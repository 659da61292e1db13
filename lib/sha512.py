"""SHA-512 (FIPS 180-4) for MicroPython, whose hashlib has none; Ed25519 needs it.

`sha512(data=b"")` gives an object with update()/digest()/hexdigest(). The compression
function is chosen once, here: the @micropython.viper version in sha512_viper (32-bit halves,
so it works on the 32-bit ESP32 and on the 64-bit sim alike) when the interpreter can run it,
else the portable big-int version below (CPython, or a MicroPython without native code).
Only hash small messages with this (manifests, not images): use hashlib.sha256 for bulk data.
"""
import struct

_K = (
    0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc,
    0x3956c25bf348b538, 0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118,
    0xd807aa98a3030242, 0x12835b0145706fbe, 0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2,
    0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235, 0xc19bf174cf692694,
    0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
    0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5,
    0x983e5152ee66dfab, 0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4,
    0xc6e00bf33da88fc2, 0xd5a79147930aa725, 0x06ca6351e003826f, 0x142929670a0e6e70,
    0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed, 0x53380d139d95b3df,
    0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
    0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30,
    0xd192e819d6ef5218, 0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8,
    0x19a4c116b8d2d0c8, 0x1e376c085141ab53, 0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8,
    0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373, 0x682e6ff3d6b2b8a3,
    0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
    0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b,
    0xca273eceea26619c, 0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178,
    0x06f067aa72176fba, 0x0a637dc5a2c898a6, 0x113f9804bef90dae, 0x1b710b35131c471b,
    0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc, 0x431d67c49c100d4c,
    0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
)
_IV = (
    0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
    0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
)
_M64 = 0xFFFFFFFFFFFFFFFF


def _rotr(x, n):
    return ((x >> n) | (x << (64 - n))) & _M64


def compress_py(h, block):
    """Portable compression: h is a list of eight 64-bit ints, updated in place."""
    w = list(struct.unpack(">16Q", block))
    for t in range(16, 80):
        x = w[t - 15]
        y = w[t - 2]
        s0 = _rotr(x, 1) ^ _rotr(x, 8) ^ (x >> 7)
        s1 = _rotr(y, 19) ^ _rotr(y, 61) ^ (y >> 6)
        w.append((w[t - 16] + s0 + w[t - 7] + s1) & _M64)
    a, b, c, d, e, f, g, hh = h
    for t in range(80):
        s1 = _rotr(e, 14) ^ _rotr(e, 18) ^ _rotr(e, 41)
        ch = (e & f) ^ (~e & g)
        t1 = hh + s1 + ch + _K[t] + w[t]
        s0 = _rotr(a, 28) ^ _rotr(a, 34) ^ _rotr(a, 39)
        maj = (a & b) ^ (a & c) ^ (b & c)
        hh = g
        g = f
        f = e
        e = (d + t1) & _M64
        d = c
        c = b
        b = a
        a = (t1 + s0 + maj) & _M64
    for i, v in enumerate((a, b, c, d, e, f, g, hh)):
        h[i] = (h[i] + v) & _M64


class _Py:
    """State for the portable path: eight Python ints."""

    def __init__(self):
        self.h = list(_IV)

    def block(self, buf):
        compress_py(self.h, buf)

    def out(self):
        return struct.pack(">8Q", *self.h)

    def copy(self):
        o = _Py()
        o.h = list(self.h)
        return o


# The one place where the platform is detected.
try:
    import sha512_viper as _fast
except (ImportError, SyntaxError, ValueError):  # CPython; no native emitter; wrong .mpy arch
    _fast = None


class _Viper:
    """State for the viper path: 16 uint32 halves (hi, lo) in an array."""

    def __init__(self, h=None):
        self.h = _fast.new_state(_IV) if h is None else h

    def block(self, buf):
        _fast.compress(self.h, buf)

    def out(self):
        return _fast.digest(self.h)

    def copy(self):
        return _Viper(_fast.copy_state(self.h))


class sha512:
    """hashlib-style SHA-512. `portable=True` forces the big-int path (for tests)."""

    digest_size = 64
    block_size = 128

    def __init__(self, data=b"", portable=False):
        self._s = _Py() if (portable or _fast is None) else _Viper()
        self._buf = bytearray(128)
        self._n = 0  # bytes waiting in _buf
        self._len = 0  # total message length in bytes
        if data:
            self.update(data)

    def update(self, data):
        mv = memoryview(data)
        n = len(mv)
        self._len += n
        i = 0
        fill = self._n
        buf = self._buf
        blk = self._s.block
        if fill:
            take = min(128 - fill, n)
            buf[fill:fill + take] = mv[:take]
            fill += take
            i = take
            if fill < 128:
                self._n = fill
                return
            blk(buf)
            fill = 0
        while n - i >= 128:
            blk(mv[i:i + 128])
            i += 128
        if i < n:
            buf[:n - i] = mv[i:]
            fill = n - i
        self._n = fill

    def _final(self):
        s = self._s.copy()
        buf = bytearray(self._buf)
        n = self._n
        buf[n] = 0x80
        for j in range(n + 1, 128):
            buf[j] = 0
        if n >= 112:
            s.block(buf)
            for j in range(128):
                buf[j] = 0
        struct.pack_into(">QQ", buf, 112, self._len >> 61, (self._len << 3) & _M64)
        s.block(buf)
        return s.out()

    def digest(self):
        return self._final()

    def hexdigest(self):
        import binascii

        return binascii.hexlify(self._final()).decode()

    def copy(self):
        o = sha512()
        o._s = self._s.copy()
        o._buf = bytearray(self._buf)
        o._n = self._n
        o._len = self._len
        return o


def viper_enabled():
    """True when the native (viper) compression function is in use."""
    return _fast is not None
