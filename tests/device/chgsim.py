"""Device-test helpers for charging: the sim's physics and frame encoders (tools/upile/sim,
written to run under MicroPython too), a fake clock and a fake ports board."""
import sys
import time


def _sim_dir():
    for p in sys.path:
        if p and p != ".frozen":
            try:
                import os

                os.stat(p + "/tools/upile/sim/physics.py")
                return p + "/tools/upile/sim"
            except OSError:
                pass
    raise ImportError("tools/upile/sim not found on sys.path")


if _sim_dir() not in sys.path:
    sys.path.append(_sim_dir())

import frames  # noqa: E402
import physics  # noqa: E402


class Rand:
    """Small deterministic PRNG (xorshift32) so failures reproduce."""

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
        return bytes(self.next() & 0xFF for _ in range(n))

    def below(self, n):
        return self.next() % n


class Clock:
    """Injectable ticks_ms clock; starts just before the ticks wrap to exercise it."""

    def __init__(self, start=None):
        self.t = time.ticks_add(0, -30000) if start is None else start

    def __call__(self):
        return self.t

    def advance(self, ms):
        self.t = time.ticks_add(self.t, ms)
