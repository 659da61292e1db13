"""One charging session: its budget, what it used, and the stop conditions that follow
from the readings (budget, full, unplugged, no load, maximum time).

All quantities are ints: ms, mWh, W, fen. Time is only counted while energy may flow to
the bike (Charging, SuspendedEV): not while waiting for load, shed, or powered off.
"""
import struct

# OCPP 1.6 StopTransaction reasons used here
EV_DISCONNECTED = "EVDisconnected"
REMOTE = "Remote"
LOCAL = "Local"
POWER_LOSS = "PowerLoss"
OTHER = "Other"
EMERGENCY = "EmergencyStop"

KINDS = ("time", "energy", "money", "full")

_CK = "<IHIIIIQBBII"  # id n charged_ms active_ms mwh ref_w num tier settled win_ms win_mwh
CK_LEN = struct.calcsize(_CK)


class Session:
    def __init__(self, sid, port, kind, amount, tag, cost):
        self.id = sid
        self.port = port
        self.kind = kind
        self.amount = amount
        self.tag = tag
        self.cost = cost
        self.n = 0  # checkpoints written
        self.charged_ms = 0
        self.active_ms = 0  # since start, load wait included (for no-load and max time)
        self.e_prev = 0  # mWh billed before the last restore
        self.e_run = 0  # mWh since start/restore
        self.ref_w = 0  # the session's charging power (slow average's peak), for "full"
        self.avg_mw = 0
        self.low_ms = 0
        self.unpl_ms = 0
        self.unpl2_ms = 0
        self.float_ms = -1  # >= 0 once full: trickle time so far
        self.volt_ms = 0
        self.resumed = False
        self.wait_ms = 0  # in Preparing since the last (re)start: waiting for load
        self.seen_load = False

    def energy(self):
        return self.e_prev + self.e_run

    def start_record(self):
        return {"k": "s", "id": self.id, "p": self.port, "b": self.kind, "a": self.amount, "tag": self.tag}

    def checkpoint(self):
        self.n += 1
        c = self.cost
        return b"C" + struct.pack(_CK, self.id, self.n & 0xFFFF, self.charged_ms, self.active_ms, self.energy(),
                                  self.ref_w, c.num, c.tier, 1 if c.settled else 0, c.win_ms, c.win_mwh)

    def restore(self, ck):
        """Continue from a checkpoint (bytes after the b'C' tag)."""
        sid, n, self.charged_ms, self.active_ms, self.e_prev, self.ref_w, num, tier, st, wms, wmwh = struct.unpack(_CK, ck)
        self.n = n
        self.e_run = 0
        self.cost.restore((num, tier, st, wms, wmwh))

    def budget_left(self):
        """True while the budget allows more charging."""
        k = self.kind
        if k == "time":
            return self.charged_ms < self.amount * 60000
        if k == "energy":
            return self.energy() < self.amount * 1000
        if k == "money":
            return self.cost.covers(self.amount, self.energy())
        return True

    def account(self, dt, mwh, charging):
        self.active_ms += dt
        self.e_run += mwh
        if charging:
            self.charged_ms += dt
            self.cost.add(dt, mwh)

    def track_power(self, p_w, dt):
        """Slow average (~60 s, kept in mW for resolution) of the power; its peak is the
        session's charging power, the reference for "full"."""
        a = self.avg_mw
        if dt >= 60000:
            a = p_w * 1000
        else:
            a += (p_w * 1000 - a) * dt // 60000
        self.avg_mw = a
        if a // 1000 > self.ref_w:
            self.ref_w = a // 1000

    def check(self, c, p_w, dt):
        """Stop conditions that depend on load; (reason, cause) or None. Sets float_ms on full."""
        if p_w < c["unplug_w"]:
            self.unpl_ms += dt
        else:
            self.unpl_ms = 0
        if p_w < c["unplug2_w"]:
            self.unpl2_ms += dt
        else:
            self.unpl2_ms = 0
        if self.unpl_ms >= c["unplug_s"] * 1000 or self.unpl2_ms >= c["unplug2_s"] * 1000:
            return EV_DISCONNECTED, "unplugged"
        if self.float_ms >= 0:
            self.float_ms += dt
            if self.float_ms >= c["float_s"] * 1000:
                return OTHER, "full"
            return None
        if self.charged_ms >= c["full_min_s"] * 1000 and p_w * 100 < self.ref_w * c["full_pct"]:
            self.low_ms += dt
            late = self.charged_ms >= c["full_late_after_s"] * 1000
            if self.low_ms >= (c["full_late_s"] if late else c["full_s"]) * 1000:
                if c["float_s"] == 0:
                    return OTHER, "full"
                self.float_ms = 0
        else:
            self.low_ms = 0
        return None

    def bill(self, reason, cause):
        fen = self.cost.fen(self.energy())
        refund = 0
        if self.kind == "money":
            fen = min(fen, self.amount)
            refund = self.amount - fen
        return {"k": "x", "id": self.id, "p": self.port, "tag": self.tag, "b": self.kind, "a": self.amount,
                "reason": reason, "cause": cause, "mwh": self.energy(), "s": self.charged_ms // 1000,
                "fen": fen, "refund": refund, "tier": self.cost.tier}
