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

# checkpoint: id n charged_ms active_ms mwh ref_w num tier settled win_ms win_mwh, then the
# full/float timers (low_ms, float_ms): a cut in the middle of "full" detection or of the
# float time continues where the last checkpoint left it (docs/charging.md)
_CK = "<IHIIIIQBBIIIi"
_CK_OLD = "<IHIIIIQBBII"  # written before the timers were kept: they restart
CK_LEN = struct.calcsize(_CK)
_CK_OLD_LEN = struct.calcsize(_CK_OLD)
METHODS = ("remote", "service", "card", "code", "coin", "schedule")


class Session:
    def __init__(self, sid, port, kind, amount, tag, cost, method="service", resv=None, meter_mwh=0, unix=None,
                 ref=None):
        self.id = sid
        self.port = port
        self.kind = kind
        self.amount = amount
        self.tag = tag
        self.cost = cost
        self.method = method  # how it was started (METHODS)
        self.resv = resv  # reservation id it used, or None
        self.meter_mwh = meter_mwh  # the port's energy register at the start
        self.unix = unix  # wall-clock start, or None while the time was not known
        self.ref = ref  # the starting protocol's own reference (e.g. a DNY order number), echoed in the bill
        self.t0 = 0  # ticks_ms at the start (this boot): dates the start once the time is known
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
        return {"k": "s", "id": self.id, "p": self.port, "b": self.kind, "a": self.amount, "tag": self.tag,
                "m": self.method, "r": self.resv, "ms": self.meter_mwh, "t": self.unix, "ref": self.ref}

    @classmethod
    def from_record(cls, rec, cost):
        """The session a start record describes (restore after a power cut)."""
        kind = rec.get("b")
        return cls(rec.get("id"), rec.get("p"), kind if kind in KINDS else "full", rec.get("a", 0), rec.get("tag"),
                   cost, rec.get("m") or "service", rec.get("r"), rec.get("ms") or 0, rec.get("t"), rec.get("ref"))

    def checkpoint(self):
        self.n += 1
        c = self.cost
        return b"C" + struct.pack(_CK, self.id, self.n & 0xFFFF, self.charged_ms, self.active_ms, self.energy(),
                                  self.ref_w, c.num, c.tier, 1 if c.settled else 0, c.win_ms, c.win_mwh,
                                  self.low_ms, self.float_ms)

    def restore(self, ck):
        """Continue from a checkpoint (bytes after the b'C' tag)."""
        if len(ck) >= CK_LEN:
            v = struct.unpack(_CK, ck[:CK_LEN])
            self.low_ms, self.float_ms = v[11], v[12]
        else:
            v = struct.unpack(_CK_OLD, ck[:_CK_OLD_LEN])
        self.n = v[1]
        self.charged_ms, self.active_ms, self.e_prev, self.ref_w = v[2], v[3], v[4], v[5]
        self.e_run = 0
        self.cost.restore(v[6:11])

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

    def bill(self, reason, cause, unix=None):
        """The journal's stop record (short keys); view() turns it into the domain's words."""
        fen = self.cost.fen(self.energy())
        refund = 0
        if self.kind == "money":
            fen = min(fen, self.amount)
            refund = self.amount - fen
        return {"k": "x", "id": self.id, "p": self.port, "tag": self.tag, "b": self.kind, "a": self.amount,
                "m": self.method, "r": self.resv, "reason": reason, "cause": cause, "mwh": self.energy(),
                "ms": self.meter_mwh, "t": self.unix, "te": unix, "ref": self.ref, "s": self.charged_ms // 1000,
                "fen": fen, "refund": refund, "tier": self.cost.tier, "pw": self.ref_w}

    def started(self):
        """session.started's fields."""
        return {"id": self.id, "port": self.port, "method": self.method, "id_tag": self.tag, "kind": self.kind,
                "amount": self.amount, "reservation": self.resv, "meter_start": self.meter_mwh // 1000,
                "meter_start_mwh": self.meter_mwh, "start_time": self.unix, "resumed": self.resumed, "ref": self.ref}


def view(b):
    """A bill (journal stop record) in the domain's words: what session.stopped carries and
    what the command interface lists. Times are unix seconds or None ("not yet known")."""
    ms = b.get("ms") or 0
    return {"id": b["id"], "port": b.get("p"), "method": b.get("m") or "service", "id_tag": b.get("tag"),
            "kind": b.get("b"), "amount": b.get("a"), "reservation": b.get("r"), "reason": b.get("reason"),
            "cause": b.get("cause"), "energy_mwh": b.get("mwh", 0), "meter_start": ms // 1000,
            "meter_stop": (ms + b.get("mwh", 0)) // 1000, "meter_start_mwh": ms,
            "meter_stop_mwh": ms + b.get("mwh", 0), "start_time": b.get("t"), "stop_time": b.get("te"),
            "charged_s": b.get("s", 0), "fen": b.get("fen", 0), "refund": b.get("refund", 0), "tier": b.get("tier", 0),
            "ref": b.get("ref"), "peak_w": b.get("pw", 0)}
