"""Smart charging: SetChargingProfile, ClearChargingProfile, GetCompositeSchedule and the
limits they put on the pile (OCPP 1.6 3.13, 5.5, 5.7, 5.16 with errata 3.37-3.41, 3.69;
docs/ocpp.md "Smart charging").

Profiles (at most MAX_PROFILES, MAX_PERIODS periods, stack levels 0..MAX_STACK) are kept in
RAM as short lists and on flash in /data/ocpp/profiles.json (atomic), so they survive a
reboot (errata 3.37); a TxProfile belongs to the session running on its connector and goes
with it. The limit at a time t:
- per purpose, the valid profile (validFrom <= t < validTo) of the highest stack level whose
  schedule defines t (a connector's own TxDefaultProfile before connector 0's), its period's
  limit; TxProfile before TxDefaultProfile on a port with a session;
- ChargePointMaxProfile -> the pile cap (station.set_limit(0, W)); the port's -> its limit
  (station.set_limit(port, W)).
A in W: the sockets are single-phase 220 V, so a port's A limit is A x 220 W whatever
numberPhases says; the pile is fed by numberPhases (default 3) phases, so its A limit is
A x 220 x numberPhases. tick() applies the limits when the next boundary (a period start,
a schedule's end, a recurrence, validFrom/validTo) is reached; the pile sheds and resumes
(docs/charging.md "Limits").
"""
from array import array

import fsatomic
import log
from micropython import const

from firmware.proto.ocpp import dt
from firmware.proto.ocpp.rpc import CallError

_log = log.get("ocpp")
MAX_PROFILES = const(8)  # MaxChargingProfilesInstalled
MAX_STACK = const(8)  # ChargeProfileMaxStackLevel
MAX_PERIODS = const(24)  # ChargingScheduleMaxPeriods
VOLTS = const(220)
_PURPOSES = ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")
_KINDS = ("Absolute", "Recurring", "Relative")
_RECUR = {"Daily": 86400, "Weekly": 604800}
_NEVER = const(0x7FFFFFFF)
# a profile: [id, connector, purpose, stack, kind, recurrence s (0 none), validFrom or None,
#   validTo or None, start or None, duration or None, unit A (1) / W (0),
#   array("i") of the periods flat: start, limit x 10, phases, start, ...] (12 bytes a period)
_ID = const(0)
_CONN = const(1)
_PURP = const(2)
_STACK = const(3)
_KIND = const(4)
_REC = const(5)
_FROM = const(6)
_TO = const(7)
_START = const(8)
_DUR = const(9)
_AMPS = const(10)
_PER = const(11)


def _bad(why):
    raise CallError("PropertyConstraintViolation", why)


def parse(cp, c, cs, now):
    """A csChargingProfiles object as a stored profile; CallError for an invalid one."""
    sch = cs["chargingSchedule"]
    kind = _KINDS.index(cs["chargingProfileKind"])
    rec = 0
    if kind == 1:
        rec = _RECUR.get(cs.get("recurrencyKind"), 0)
        if not rec or not sch.get("startSchedule"):
            _bad("a Recurring profile needs recurrencyKind and startSchedule")
    per = array("i")
    last = -1
    for p in sch["chargingSchedulePeriod"]:
        sp, lim = p["startPeriod"], p["limit"]
        if sp <= last or (last < 0 and sp != 0) or not 0 <= lim <= 100000000 or p.get("numberPhases", 3) not in (1, 2, 3):
            _bad("periods start at 0 and rise, limits 0..1e8, 1-3 phases")
        last = sp
        per.extend((sp, int(lim * 10 + 0.5), p.get("numberPhases", 3)))
    if not per:
        _bad("no period")
    vf, vt, ss = cs.get("validFrom"), cs.get("validTo"), sch.get("startSchedule")
    start = dt.unix(ss) if ss else None
    if kind == 0 and start is None:
        start = dt.unix(vf) if vf else now
    return [cs["chargingProfileId"], c, _PURPOSES.index(cs["chargingProfilePurpose"]), cs["stackLevel"], kind, rec,
            dt.unix(vf) if vf else None, dt.unix(vt) if vt else None, start, sch.get("duration"),
            1 if sch["chargingRateUnit"] == "A" else 0, per]


def fits(prof):
    """Within ChargingScheduleMaxPeriods and ChargeProfileMaxStackLevel."""
    return len(prof[_PER]) <= 3 * MAX_PERIODS and 0 <= prof[_STACK] <= MAX_STACK


class Smart:
    def __init__(self, cp, path):
        self.cp = cp
        self.path = path
        try:
            ps = fsatomic.read_json(path, [])
        except (fsatomic.Corrupt, OSError):
            ps = []
        self.profiles = ps if isinstance(ps, list) else []
        for q in self.profiles:
            q[_PER] = array("i", q[_PER])
        self.applied = {}  # connector -> W last set (None: no limit)
        self.next_at = None  # unix second of the next boundary
        self.changed = True  # recompute at the next tick
        self.t_applied = None  # ticks when limits last changed (the bench)

    def _save(self):
        try:
            fsatomic.write_json(self.path, [q[:_PER] + [list(q[_PER])] for q in self.profiles])
        except OSError as e:
            _log.warn("charging profiles not saved: %r", e)

    # ---- the CSMS's messages
    def set(self, p):
        cp = self.cp
        st = cp.station
        c = p["connectorId"]
        n = st.ports()
        if not 0 <= c <= n:
            _bad("connectorId %d: the pile has %d" % (c, n))  # errata 3.38/3.39
        cs = p["csChargingProfiles"]
        now = st.bus.now()
        if now is None:
            return "Rejected"  # schedules need the time
        prof = parse(cp, c, cs, now)
        purpose = prof[_PURP]
        if (purpose == 0 and c != 0) or (purpose == 2 and c == 0) or not fits(prof):
            return "Rejected"
        if purpose == 2:
            info = st.port(c)
            if info.get("id") is None:
                return "Rejected"  # a TxProfile needs a transaction on its connector
            txid = cs.get("transactionId")
            if txid is not None and txid != cp.txq.txid_of(info["id"]):
                return "Rejected"
        if purpose == 0 and prof[_KIND] == 2:
            return "Rejected"  # relative to a transaction: the pile's cap has none
        return self.install(prof)

    def install(self, prof):
        keep = [q for q in self.profiles if q[_ID] != prof[_ID] and not (
            q[_STACK] == prof[_STACK] and q[_PURP] == prof[_PURP] and q[_CONN] == prof[_CONN])]
        if len(keep) >= MAX_PROFILES:
            return "Rejected"
        keep.append(prof)
        self.profiles = keep
        self._save()
        self.changed = True
        self.cp.wake_events()
        _log.info("charging profile %d (%s, level %d) on %d", prof[_ID], _PURPOSES[prof[_PURP]], prof[_STACK],
                  prof[_CONN])
        return "Accepted"

    def clear(self, p):
        pid, c, pur, lvl = p.get("id"), p.get("connectorId"), p.get("chargingProfilePurpose"), p.get("stackLevel")
        pur = _PURPOSES.index(pur) if pur is not None else None

        def hit(q):
            if pid is not None:
                return q[_ID] == pid
            return (c is None or q[_CONN] == c) and (pur is None or q[_PURP] == pur) and (lvl is None or q[_STACK] == lvl)

        keep = [q for q in self.profiles if not hit(q)]
        if len(keep) == len(self.profiles):
            return "Unknown"
        self.profiles = keep
        self._save()
        self.changed = True
        self.cp.wake_events()
        return "Accepted"

    def session_ended(self, port):
        """A TxProfile goes with its transaction (OCPP 1.6 3.13.4)."""
        keep = [q for q in self.profiles if not (q[_PURP] == 2 and q[_CONN] == port)]
        if len(keep) != len(self.profiles):
            self.profiles = keep
            self._save()
            self.changed = True

    # ---- evaluation
    def _tx_start(self, port, now):
        s = self.cp.tx.cur.get(port)
        if s is None:
            return None
        return s[3] if s[3] is not None else now

    def _at(self, q, t, tx0):
        """The limit x10 of profile q at t, None when it defines nothing at t; its phases and
        its next boundary are left in self.ph and self.nx (no tuple per call: this runs for
        every profile and connector at each boundary)."""
        self.ph = 3
        nxt = _NEVER
        lim = None
        s0 = None
        if q[_FROM] is not None and t < q[_FROM]:
            nxt = q[_FROM]
        elif q[_TO] is not None and t >= q[_TO]:
            pass
        else:
            if q[_TO] is not None:
                nxt = q[_TO]
            if q[_KIND] == 2:
                s0 = tx0
            elif q[_KIND] == 1:
                base, r = q[_START], q[_REC]
                if t < base:
                    nxt = min(nxt, base)
                else:
                    s0 = base + (t - base) // r * r
                    nxt = min(nxt, s0 + r)
            else:
                s0 = q[_START]
        if s0 is not None:
            off = t - s0
            dur = q[_DUR]
            if off < 0:
                nxt = min(nxt, s0)
            elif dur is None or off < dur:
                if dur is not None:
                    nxt = min(nxt, s0 + dur)
                per = q[_PER]
                for k in range(0, len(per), 3):
                    if per[k] <= off:
                        lim, self.ph = per[k + 1], per[k + 2]
                    else:
                        nxt = min(nxt, s0 + per[k])
                        break
        self.nx = nxt
        return lim

    def _raw(self, port, t):
        """(W or None, next boundary, the pile's per-phase W or None) of connector `port` at t.
        The first group with a profile valid at t decides: the pile's ChargePointMaxProfiles;
        for a port, its TxProfiles (while a session runs), else its own TxDefaultProfiles,
        else connector 0's. In a group the highest stack level whose schedule defines t wins
        (a lower one fills the time it leaves, OCTT TC_072); a TxProfile whose schedule has
        ended leaves the port to the pile's limit, not to a TxDefaultProfile (OCTT TC_066)."""
        tx0 = self._tx_start(port, t) if port else None
        rel = [q for q in self.profiles if (q[_PURP] == 0) == (port == 0) and (
            q[_CONN] == port or (q[_PURP] == 1 and q[_CONN] == 0)) and not (q[_PURP] == 2 and tx0 is None)]
        nxt = _NEVER
        for q in rel:
            self._at(q, t, tx0)
            if self.nx < nxt:
                nxt = self.nx
        for purpose, conn in (((0, 0),) if port == 0 else ((2, port), (1, port), (1, 0))):
            found = best = blx = bph = None
            for q in rel:
                if q[_PURP] != purpose or q[_CONN] != conn or (q[_FROM] is not None and t < q[_FROM]) or (
                        q[_TO] is not None and t >= q[_TO]):
                    continue
                found = True
                if best is not None and q[_STACK] <= best[_STACK]:
                    continue
                lx = self._at(q, t, tx0)
                if lx is not None:
                    best, blx, bph = q, lx, self.ph
            if not found:
                continue
            if best is None:
                return None, nxt, None
            q, lx, ph = best, blx, bph
            if not q[_AMPS]:
                return lx // 10, nxt, None
            one = lx * VOLTS // 10  # one phase of 220 V: a socket's, or each of the pile's
            return (one if port else one * ph), nxt, one
        return None, nxt, None

    def limit(self, port, t, composite=False):
        """(W or None, next boundary) for connector `port` (0: the pile) at t. A port is held
        to the pile's per-phase limit too when that is in A (a socket draws from one phase);
        for the composite schedule also to the pile's W limit."""
        w, nxt, _ = self._raw(port, t)
        if port:
            pw, pn, one = self._raw(0, t)
            nxt = min(nxt, pn)
            b = one if one is not None else (pw if composite else None)
            if b is not None and (w is None or b < w):
                w = b
        return w, nxt

    def due_ms(self):
        now = self.cp.station.bus.now()
        if now is None or not (self.profiles or self.applied):
            return None
        if self.changed or self.next_at is None:
            return 0
        return max(0, (self.next_at - now) * 1000)

    def tick(self):
        """Apply the limits due now; returns True when any changed."""
        if self.due_ms() != 0:
            return False
        import time

        st = self.cp.station
        now = st.bus.now()
        self.changed = False
        nxt = _NEVER
        moved = False
        for c in range(st.ports() + 1):
            w, n = self.limit(c, now)
            nxt = min(nxt, n)
            if self.applied.get(c, None) != w or (c not in self.applied and w is not None):
                try:
                    st.set_limit(c, w)
                except Exception as e:  # noqa: BLE001  Refused: no pile yet; again next tick
                    _log.warn("limit on %d not set: %r", c, e)
                    self.changed = True
                    continue
                _log.info("connector %d limit: %s W", c, w)
                self.applied[c] = w
                moved = True
        if not self.profiles and all(v is None for v in self.applied.values()):
            self.applied = {}
        self.next_at = nxt if nxt != _NEVER else None
        if moved:
            self.t_applied = time.ticks_ms()
        return moved

    def composite(self, c, duration, unit):
        """GetCompositeSchedule's schedule for connector c over [now, now + duration]."""
        st = self.cp.station
        now = st.bus.now()
        cap = st.config("charging")["cap_w"]
        periods = []
        t = now
        end = now + duration
        while len(periods) < MAX_PERIODS * MAX_PROFILES:  # at least one period, duration 0 too
            w, n = self.limit(c, t, True)
            w = cap if w is None or w > cap else w
            if unit == "A":
                lim = w * 10 // (VOLTS * (1 if c else 3))
                val = {"startPeriod": t - now, "limit": lim / 10}
                if not c:
                    val["numberPhases"] = 3
            else:
                val = {"startPeriod": t - now, "limit": w}
            if not periods or periods[-1]["limit"] != val["limit"]:
                periods.append(val)
            t = n
            if t >= end:
                break
        return {"status": "Accepted", "connectorId": c, "scheduleStart": dt.iso(now),
                "chargingSchedule": {"duration": duration, "startSchedule": dt.iso(now), "chargingRateUnit": unit,
                                     "chargingSchedulePeriod": periods}}


def set_profile(cp, p):
    return {"status": cp.smart.set(p)}


def clear_profile(cp, p):
    return {"status": cp.smart.clear(p)}


def composite(cp, p):
    c = p["connectorId"]
    if not 0 <= c <= cp.station.ports() or cp.station.bus.now() is None:
        return {"status": "Rejected"}
    return cp.smart.composite(c, p["duration"], p.get("chargingRateUnit") or "W")
