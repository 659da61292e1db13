"""Shared framing for Belling BL09xx UART read-all packets (BL0942, BL0939).

The host sends `<read cmd> 0xAA`; the chip answers head 0x55, the registers, and a
checksum = ~(read cmd + sum of all preceding packet bytes) & 0xFF. Like the HLW8032
parser, a packet yields a reading only when the packet right before it in the stream
was valid too (so random bytes never make a reading), and values are range-checked.
"""
from micropython import const

_HEAD = const(0x55)


def u24le(b, i):
    return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16)


def s24le(b, i):
    v = u24le(b, i)
    return v - 0x1000000 if v & 0x800000 else v


class BLFrame:
    """Subclasses set LEN and CMD and implement _decode(buf, confirmed) -> bool."""

    LEN = 0
    CMD = 0

    def __init__(self):
        self._buf = bytearray(self.LEN)
        self._req = bytes((self.CMD, 0xAA))
        self._n = 0
        self._armed = False
        self.frames = 0
        self.bad = 0

    def request(self):
        """Bytes to write to the chip to ask for the next packet."""
        return self._req

    def cut(self):
        """The line was switched away (the mux): forget a partial packet and the last
        packet's confirmation."""
        self._n = 0
        self._armed = False

    def feed(self, data, n=-1):
        """Consume `n` bytes (all when -1) of `data`; never raises on any byte values."""
        buf = self._buf
        ln = self.LEN
        if n < 0:
            n = len(data)
        for i in range(n):
            b = data[i]
            k = self._n
            if k == 0 and b != _HEAD:
                self._armed = False
                continue
            buf[k] = b
            k += 1
            if k < ln:
                self._n = k
                continue
            self._n = 0
            if not self._check():
                self.bad += 1
                self._armed = False
                self._resync()

    def _resync(self):
        buf = self._buf
        ln = self.LEN
        for j in range(1, ln):
            if buf[j] == _HEAD:
                m = ln - j
                for k in range(m):
                    buf[k] = buf[j + k]
                self._n = m
                return

    def _check(self):
        buf = self._buf
        last = self.LEN - 1
        s = self.CMD
        for i in range(last):
            s += buf[i]
        if (~s) & 0xFF != buf[last]:
            return False
        confirmed = self._armed
        if not self._decode(buf, confirmed):
            return False
        self._armed = True
        self.frames += 1
        return True
