"""Pile power cap: admission control, shedding newest sessions first, resumption.

Above cap_w the newest running sessions are suspended (SuspendedEVSE, relay open) until
the total fits; below admit_w the oldest suspended session is resumed when its last power
fits too. After any shed or resume the pile waits HOLD_MS for readings to settle, so it
never flaps.
"""
from micropython import const

HOLD_MS = const(5000)


class Limits:
    def __init__(self, c):
        self.cap = c["cap_w"]
        self.admit = c["admit_w"]
        self.hold_until = None

    def admits(self, total_w):
        return total_w < self.admit

    def plan(self, ports, total_w, now, ticks_diff, running):
        """(to_shed, to_resume): lists of ports. `running` are ports with relay on."""
        shed = []
        if total_w > self.cap:
            for p in sorted(running, key=lambda p: -p.order):
                if total_w <= self.cap:
                    break
                shed.append(p)
                total_w -= p.p_w
            self.hold_until = now
            return shed, []
        if self.hold_until is not None and ticks_diff(now, self.hold_until) < HOLD_MS:
            return [], []
        waiting = [p for p in ports if p.status == "SuspendedEVSE" and p.session]
        if not waiting:
            return [], []
        p = min(waiting, key=lambda p: p.order)
        if total_w + p.shed_w <= self.admit:
            self.hold_until = now
            return [], [p]
        return [], []
