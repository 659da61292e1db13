"""Power limits: the pile cap (admission, shedding newest sessions first, resumption) and
per-port limits. A socket pile cannot throttle a port, only switch it, so a limit becomes
admission (no new session above it) and shedding (relay open, SuspendedEVSE, until it fits).

Above the cap the newest running sessions are suspended until the total fits; a port whose
own limit is below its power is suspended too. Below the admission level the oldest
suspended session is resumed when its last power fits (the pile's and its port's). After
any shed or resume the pile waits HOLD_MS for readings to settle, so it never flaps.
The cap and admission level come from config; the station (a back end's smart charging)
may lower them for a while with set_cap().
"""
from micropython import const

HOLD_MS = const(5000)
CAP = "power_cap"
PORT = "port_limit"


class Limits:
    def __init__(self, c):
        self.cfg_cap = c["cap_w"]
        self.cfg_admit = c["admit_w"]
        self.cap = self.cfg_cap
        self.admit = self.cfg_admit
        self.hold_until = None

    def set_cap(self, watts):
        """A lower pile limit for now (None: back to the configured cap and admission)."""
        if watts is None:
            self.cap, self.admit = self.cfg_cap, self.cfg_admit
        else:
            self.cap = min(self.cfg_cap, watts)
            self.admit = min(self.cfg_admit, self.cap)
        self.hold_until = None

    def admits(self, total_w):
        return total_w < self.admit

    @staticmethod
    def _fits_port(p, w):
        return p.limit_w is None or w <= p.limit_w

    def plan(self, ports, total_w, now, ticks_diff, running):
        """(to_shed, to_resume): lists of (port, cause). `running`: ports with a session
        whose relay is on."""
        shed = []
        for p in running:
            if not self._fits_port(p, p.p_w) or p.limit_w == 0:
                shed.append((p, PORT))
                total_w -= p.p_w
        if total_w > self.cap:
            for p in sorted(running, key=lambda p: -p.order):
                if total_w <= self.cap:
                    break
                if any(s[0] is p for s in shed):
                    continue
                shed.append((p, CAP))
                total_w -= p.p_w
        if shed:
            self.hold_until = now
            return shed, []
        if self.hold_until is not None and ticks_diff(now, self.hold_until) < HOLD_MS:
            return [], []
        waiting = [p for p in ports if p.status == "SuspendedEVSE" and p.session
                   and self._fits_port(p, p.shed_w) and p.limit_w != 0]
        if not waiting:
            return [], []
        p = min(waiting, key=lambda p: p.order)
        if total_w + p.shed_w <= self.admit:
            self.hold_until = now
            return [], [(p, PORT if p.limit_w is not None else CAP)]
        return [], []
