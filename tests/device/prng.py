"""Deterministic xorshift32 for device tests: the same bytes on every run (os.urandom is
not), so a failure reproduces from its seed."""


class XorShift:
    def __init__(self, seed=1):
        self.s = seed or 1

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s

    def bytes(self, n):
        b = bytearray(n)
        for i in range(n):
            b[i] = self.next() & 0xFF
        return bytes(b)

    def below(self, n):
        return self.next() % n
