# Bench only, never shipped: bench/ocpp.py freezes the app into a Unix MicroPython built
# without a TLS library, whose hashlib then lacks SHA-1. This module (hashlib is an
# extensible built-in: a module of that name on sys.path, .frozen included, comes first)
# gives the port's hashlib plus SHA-1 in Python (FIPS 180-4), which lib/websocket.py needs
# once per opening handshake (Sec-WebSocket-Accept).
from uhashlib import *  # noqa: F401,F403


def _rol(x, n):
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


class sha1:
    def __init__(self, data=b""):
        self._h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
        self._buf = b""
        self._n = 0
        self.update(data)

    def update(self, data):
        self._n += len(data)
        b = self._buf + bytes(data)
        while len(b) >= 64:
            self._block(b[:64])
            b = b[64:]
        self._buf = b

    def _block(self, blk):
        w = [int.from_bytes(blk[i:i + 4], "big") for i in range(0, 64, 4)]
        for i in range(16, 80):
            w.append(_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1))
        a, b, c, d, e = self._h
        for i in range(80):
            if i < 20:
                f, k = (b & c) | (~b & d), 0x5A827999
            elif i < 40:
                f, k = b ^ c ^ d, 0x6ED9EBA1
            elif i < 60:
                f, k = (b & c) | (b & d) | (c & d), 0x8F1BBCDC
            else:
                f, k = b ^ c ^ d, 0xCA62C1D6
            a, b, c, d, e = (_rol(a, 5) + (f & 0xFFFFFFFF) + e + k + w[i]) & 0xFFFFFFFF, a, _rol(b, 30), c, d
        self._h = [(x + y) & 0xFFFFFFFF for x, y in zip(self._h, (a, b, c, d, e))]

    def digest(self):
        h, buf, n = list(self._h), self._buf, self._n
        tail = buf + b"\x80" + b"\x00" * ((55 - len(buf)) % 64) + (n * 8).to_bytes(8, "big")
        for i in range(0, len(tail), 64):
            self._block(tail[i:i + 64])
        out = b"".join(x.to_bytes(4, "big") for x in self._h)
        self._h = h
        return out
