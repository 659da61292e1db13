"""When to check and when to install: jittered periods, backoff, idle ports, maintenance window.

Pure functions plus a tiny gate object, so the rules are testable without a network.
A fleet must not hit the release server at once (jitter on every period and retry), and a
paying customer's session is never interrupted (install only when every port is idle or
inside the configured maintenance window).
"""
import os
import time


def rand01():
    """Uniform in [0, 1) from the hardware RNG (os.urandom on the ESP32)."""
    return int.from_bytes(os.urandom(2), "little") / 65536


def jittered(period_s, jitter_s, r=None):
    """period +- jitter seconds (never below 1)."""
    r = rand01() if r is None else r
    return max(1, period_s + int((2 * r - 1) * jitter_s))


def backoff(attempt, base_s, cap_s, r=None):
    """Exponential backoff with 'equal jitter': half fixed, half random, capped."""
    r = rand01() if r is None else r
    d = min(cap_s, base_s * (1 << min(attempt, 16)))
    return d / 2 + r * d / 2


def parse_window(text):
    """'HH:MM-HH:MM' -> (start_min, end_min); '' -> None. Raises ValueError when malformed."""
    if not text:
        return None
    a, b = text.split("-")

    def mins(t):
        h, m = t.split(":")
        h, m = int(h), int(m)
        if not (0 <= h < 24 and 0 <= m < 60):
            raise ValueError("time out of range: " + t)
        return h * 60 + m

    return mins(a), mins(b)


def in_window(win, hour, minute):
    """True inside [start, end); a window may wrap past midnight (22:00-04:00)."""
    if win is None:
        return False
    t = hour * 60 + minute
    s, e = win
    return s <= t < e if s <= e else (t >= s or t < e)


class Gate:
    """May we install now? Idle ports (the charging domain's `idle()`) or the window."""

    def __init__(self, idle=None, window="", clock=time.localtime):
        self.idle = idle
        self.win = parse_window(window)
        self.clock = clock

    def may_install(self):
        if self.idle is None or self.idle():
            return True
        t = self.clock()
        return in_window(self.win, t[3], t[4])
