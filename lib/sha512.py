"""SHA-512 (FIPS 180-4) for MicroPython, whose hashlib has none; Ed25519 needs it.

`sha512(data=b"")` gives a hashlib-style object: update(), digest(), hexdigest(), copy().
The compression function is native code from sha512_viper when that loads (MicroPython:
~6 us per 128-byte block here), else plain Python ints (CPython, or no executable RAM left:
~0.3 ms per block here, many times more on an ESP32, where every 64-bit word is a big int).
The state is the digest's own 64 bytes (big-endian words) in both cases; the 80 round
constants are one bytes literal, never a list of big ints. Hash small messages with it
(a manifest), never an image (use hashlib.sha256).
"""
import struct

try:
    from micropython import const
except ImportError:  # CPython: the host's release tools verify with ed25519 too
    const = int

# H(0) (FIPS 180-4 5.3.5): big-endian 64-bit words.
_IV = (
    b"\x6a\x09\xe6\x67\xf3\xbc\xc9\x08\xbb\x67\xae\x85\x84\xca\xa7\x3b"
    b"\x3c\x6e\xf3\x72\xfe\x94\xf8\x2b\xa5\x4f\xf5\x3a\x5f\x1d\x36\xf1"
    b"\x51\x0e\x52\x7f\xad\xe6\x82\xd1\x9b\x05\x68\x8c\x2b\x3e\x6c\x1f"
    b"\x1f\x83\xd9\xab\xfb\x41\xbd\x6b\x5b\xe0\xcd\x19\x13\x7e\x21\x79"
)
# K (FIPS 180-4 4.2.3): the 80 round constants, big-endian 64-bit words. Bytes, not ints:
# 640 bytes in one object instead of 80 big ints; a round unpacks the word it needs.
_K = (
    b"\x42\x8a\x2f\x98\xd7\x28\xae\x22\x71\x37\x44\x91\x23\xef\x65\xcd"
    b"\xb5\xc0\xfb\xcf\xec\x4d\x3b\x2f\xe9\xb5\xdb\xa5\x81\x89\xdb\xbc"
    b"\x39\x56\xc2\x5b\xf3\x48\xb5\x38\x59\xf1\x11\xf1\xb6\x05\xd0\x19"
    b"\x92\x3f\x82\xa4\xaf\x19\x4f\x9b\xab\x1c\x5e\xd5\xda\x6d\x81\x18"
    b"\xd8\x07\xaa\x98\xa3\x03\x02\x42\x12\x83\x5b\x01\x45\x70\x6f\xbe"
    b"\x24\x31\x85\xbe\x4e\xe4\xb2\x8c\x55\x0c\x7d\xc3\xd5\xff\xb4\xe2"
    b"\x72\xbe\x5d\x74\xf2\x7b\x89\x6f\x80\xde\xb1\xfe\x3b\x16\x96\xb1"
    b"\x9b\xdc\x06\xa7\x25\xc7\x12\x35\xc1\x9b\xf1\x74\xcf\x69\x26\x94"
    b"\xe4\x9b\x69\xc1\x9e\xf1\x4a\xd2\xef\xbe\x47\x86\x38\x4f\x25\xe3"
    b"\x0f\xc1\x9d\xc6\x8b\x8c\xd5\xb5\x24\x0c\xa1\xcc\x77\xac\x9c\x65"
    b"\x2d\xe9\x2c\x6f\x59\x2b\x02\x75\x4a\x74\x84\xaa\x6e\xa6\xe4\x83"
    b"\x5c\xb0\xa9\xdc\xbd\x41\xfb\xd4\x76\xf9\x88\xda\x83\x11\x53\xb5"
    b"\x98\x3e\x51\x52\xee\x66\xdf\xab\xa8\x31\xc6\x6d\x2d\xb4\x32\x10"
    b"\xb0\x03\x27\xc8\x98\xfb\x21\x3f\xbf\x59\x7f\xc7\xbe\xef\x0e\xe4"
    b"\xc6\xe0\x0b\xf3\x3d\xa8\x8f\xc2\xd5\xa7\x91\x47\x93\x0a\xa7\x25"
    b"\x06\xca\x63\x51\xe0\x03\x82\x6f\x14\x29\x29\x67\x0a\x0e\x6e\x70"
    b"\x27\xb7\x0a\x85\x46\xd2\x2f\xfc\x2e\x1b\x21\x38\x5c\x26\xc9\x26"
    b"\x4d\x2c\x6d\xfc\x5a\xc4\x2a\xed\x53\x38\x0d\x13\x9d\x95\xb3\xdf"
    b"\x65\x0a\x73\x54\x8b\xaf\x63\xde\x76\x6a\x0a\xbb\x3c\x77\xb2\xa8"
    b"\x81\xc2\xc9\x2e\x47\xed\xae\xe6\x92\x72\x2c\x85\x14\x82\x35\x3b"
    b"\xa2\xbf\xe8\xa1\x4c\xf1\x03\x64\xa8\x1a\x66\x4b\xbc\x42\x30\x01"
    b"\xc2\x4b\x8b\x70\xd0\xf8\x97\x91\xc7\x6c\x51\xa3\x06\x54\xbe\x30"
    b"\xd1\x92\xe8\x19\xd6\xef\x52\x18\xd6\x99\x06\x24\x55\x65\xa9\x10"
    b"\xf4\x0e\x35\x85\x57\x71\x20\x2a\x10\x6a\xa0\x70\x32\xbb\xd1\xb8"
    b"\x19\xa4\xc1\x16\xb8\xd2\xd0\xc8\x1e\x37\x6c\x08\x51\x41\xab\x53"
    b"\x27\x48\x77\x4c\xdf\x8e\xeb\x99\x34\xb0\xbc\xb5\xe1\x9b\x48\xa8"
    b"\x39\x1c\x0c\xb3\xc5\xc9\x5a\x63\x4e\xd8\xaa\x4a\xe3\x41\x8a\xcb"
    b"\x5b\x9c\xca\x4f\x77\x63\xe3\x73\x68\x2e\x6f\xf3\xd6\xb2\xb8\xa3"
    b"\x74\x8f\x82\xee\x5d\xef\xb2\xfc\x78\xa5\x63\x6f\x43\x17\x2f\x60"
    b"\x84\xc8\x78\x14\xa1\xf0\xab\x72\x8c\xc7\x02\x08\x1a\x64\x39\xec"
    b"\x90\xbe\xff\xfa\x23\x63\x1e\x28\xa4\x50\x6c\xeb\xde\x82\xbd\xe9"
    b"\xbe\xf9\xa3\xf7\xb2\xc6\x79\x15\xc6\x71\x78\xf2\xe3\x72\x53\x2b"
    b"\xca\x27\x3e\xce\xea\x26\x61\x9c\xd1\x86\xb8\xc7\x21\xc0\xc2\x07"
    b"\xea\xda\x7d\xd6\xcd\xe0\xeb\x1e\xf5\x7d\x4f\x7f\xee\x6e\xd1\x78"
    b"\x06\xf0\x67\xaa\x72\x17\x6f\xba\x0a\x63\x7d\xc5\xa2\xc8\x98\xa6"
    b"\x11\x3f\x98\x04\xbe\xf9\x0d\xae\x1b\x71\x0b\x35\x13\x1c\x47\x1b"
    b"\x28\xdb\x77\xf5\x23\x04\x7d\x84\x32\xca\xab\x7b\x40\xc7\x24\x93"
    b"\x3c\x9e\xbe\x0a\x15\xc9\xbe\xbc\x43\x1d\x67\xc4\x9c\x10\x0d\x4c"
    b"\x4c\xc5\xd4\xbe\xcb\x3e\x42\xb6\x59\x7f\x29\x9c\xfc\x65\x7e\x2a"
    b"\x5f\xcb\x6f\xab\x3a\xd6\xfa\xec\x6c\x44\x19\x8c\x4a\x47\x58\x17"
)
_M = const(0xFFFFFFFFFFFFFFFF)
_R = const(0x10000000000000001)  # x * _R = x << 64 | x for x < 2^64: a rotation is one shift


def _block(h, blk, w, k):
    """FIPS 180-4 6.4.2 on one 128-byte block in plain ints; h (64 bytes) updated in place."""
    # k: the round constants; w: unused (the native version's scratch). A 64-bit rotation
    # right by n is (x << 64 | x) >> n with junk above bit 63, left where only a sum follows:
    # it vanishes when the sum is masked. Ch and Maj in forms with fewer operations (same
    # truth tables): Maj(a, b, c) = ((a ^ b) & (b ^ c)) ^ b reuses the previous round's a ^ b.
    w = list(struct.unpack(">16Q", blk))  # the schedule, 16 words at a time: w[t & 15]
    s = struct.unpack(">8Q", h)
    a, b, c, d, e, f, g, h8 = s
    bc = b ^ c
    for t in range(80):
        if t > 15:
            x = w[t + 1 & 15]  # W[t-15]
            y = w[t + 14 & 15]  # W[t-2]
            xx = x * _R
            yy = y * _R
            w[t & 15] = (w[t & 15] + (xx >> 1 ^ xx >> 8 ^ x >> 7) + w[t + 9 & 15]
                         + (yy >> 19 ^ yy >> 61 ^ y >> 6)) & _M  # W[t]
        x = e * _R
        t1 = (h8 + (x >> 14 ^ x >> 18 ^ x >> 41) + (g ^ e & (f ^ g)) + struct.unpack_from(">Q", k, t * 8)[0]
              + w[t & 15])  # K[t] read when needed: 80 big ints at once are ~6 KB of heap
        x = a * _R
        ab = a ^ b
        t2 = (x >> 28 ^ x >> 34 ^ x >> 39) + (ab & bc ^ b)
        bc = ab
        h8 = g
        g = f
        f = e
        e = (d + t1) & _M
        d = c
        c = b
        b = a
        a = (t1 + t2) & _M
    h[:] = struct.pack(">8Q", *[(x + y) & _M for x, y in zip(s, (a, b, c, d, e, f, g, h8))])


try:
    from sha512_viper import compress as _native  # imported once, never dropped (its docstring)
except (ImportError, ValueError, MemoryError):  # CPython; an .mpy of another arch; no IRAM
    _native = _block


class sha512:
    """hashlib-style SHA-512. The state is a bytearray, updated in place; copy() copies it."""

    def __init__(self, data=b""):
        self._h = bytearray(_IV)  # the chaining value, as digest() gives it
        self._w = bytearray(192)  # scratch of the native compression: schedule and a..h
        self._b = b""  # the message's tail that does not fill a block yet (< 128 bytes)
        self._n = 0  # message length in bytes
        self.update(data)

    def update(self, data):
        m = memoryview(data)  # bytes-like only (TypeError otherwise); no copy of the input
        self._n += len(m)
        b = self._b
        i = 128 - len(b)  # bytes that complete the pending block
        while len(m) >= i:
            _native(self._h, b + m[:i] if b else m[:i], self._w, _K)
            m = m[i:]
            b = b""
            i = 128
        self._b = b + m

    def digest(self):
        n = self._n
        c = self.copy()  # padding goes into a copy: more may be hashed after a digest
        c.update(b"\x80" + bytes(-(n + 17) % 128) + (n << 3).to_bytes(16, "big"))
        return bytes(c._h)

    def hexdigest(self):
        return self.digest().hex()

    def copy(self):
        c = sha512()
        c._h[:] = self._h
        c._b, c._n = self._b, self._n
        return c
