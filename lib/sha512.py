"""SHA-512 (FIPS 180-4) for MicroPython, whose hashlib has none; Ed25519 needs it.

`sha512(data=b"")` gives an object with update()/digest()/hexdigest(). The compression
function is chosen once, here: the @micropython.viper version in sha512_viper (32-bit halves,
so it works on the 32-bit ESP32 and on the 64-bit sim alike) when the interpreter can run it,
else the portable big-int version below (CPython, or a MicroPython without native code).
Only hash small messages with this (manifests, not images): use hashlib.sha256 for bulk data.
"""
import struct
from binascii import unhexlify

# Round constants, big-endian 64-bit words (bytes: no big ints held in RAM until needed).
_KB = unhexlify(
    "428a2f98d728ae227137449123ef65cdb5c0fbcfec4d3b2fe9b5dba58189dbbc3956c25bf348b538"
    "59f111f1b605d019923f82a4af194f9bab1c5ed5da6d8118d807aa98a303024212835b0145706fbe"
    "243185be4ee4b28c550c7dc3d5ffb4e272be5d74f27b896f80deb1fe3b1696b19bdc06a725c71235"
    "c19bf174cf692694e49b69c19ef14ad2efbe4786384f25e30fc19dc68b8cd5b5240ca1cc77ac9c65"
    "2de92c6f592b02754a7484aa6ea6e4835cb0a9dcbd41fbd476f988da831153b5983e5152ee66dfab"
    "a831c66d2db43210b00327c898fb213fbf597fc7beef0ee4c6e00bf33da88fc2d5a79147930aa725"
    "06ca6351e003826f142929670a0e6e7027b70a8546d22ffc2e1b21385c26c9264d2c6dfc5ac42aed"
    "53380d139d95b3df650a73548baf63de766a0abb3c77b2a881c2c92e47edaee692722c851482353b"
    "a2bfe8a14cf10364a81a664bbc423001c24b8b70d0f89791c76c51a30654be30d192e819d6ef5218"
    "d69906245565a910f40e35855771202a106aa07032bbd1b819a4c116b8d2d0c81e376c085141ab53"
    "2748774cdf8eeb9934b0bcb5e19b48a8391c0cb3c5c95a634ed8aa4ae3418acb5b9cca4f7763e373"
    "682e6ff3d6b2b8a3748f82ee5defb2fc78a5636f43172f6084c87814a1f0ab728cc702081a6439ec"
    "90befffa23631e28a4506cebde82bde9bef9a3f7b2c67915c67178f2e372532bca273eceea26619c"
    "d186b8c721c0c207eada7dd6cde0eb1ef57d4f7fee6ed17806f067aa72176fba0a637dc5a2c898a6"
    "113f9804bef90dae1b710b35131c471b28db77f523047d8432caab7b40c724933c9ebe0a15c9bebc"
    "431d67c49c100d4c4cc5d4becb3e42b6597f299cfc657e2a5fcb6fab3ad6faec6c44198c4a475817"
)
_IV = (
    0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
    0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
)
_M64 = 0xFFFFFFFFFFFFFFFF


def _rotr(x, n):
    return ((x >> n) | (x << (64 - n))) & _M64


_K = None  # the constants as ints, made on first use of the portable path


def compress_py(h, block):
    """Portable compression: h is a list of eight 64-bit ints, updated in place."""
    global _K
    if _K is None:
        _K = struct.unpack(">80Q", _KB)
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
