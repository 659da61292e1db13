"""The pile: N ports, their sessions, protections and power limits, in one control loop.

Public API (ports are 1-based like OCPP connectorId); firmware/station.py is the one
caller outside this package:
  Pile(cfg, board, store=None, clock=None, bus=None); await pile.run(feed=None)
  start(port, kind, amount, tag=None, method="service", reservation=None, ref=None) -> session id
      (kind: time min | energy Wh | money fen | full)
  stop(port, reason="Remote", cause="remote") -> bill; stop_all(reason, cause)
  change(port, kind, amount) -> "ok" | "below_used"  (a running session's new budget, journalled)
  reserve(port, tag, expire_s=None, reservation=None); schedule(port, kind, amount, start_in_s, tag=None)
  cancel_reservation(port); set_available(port, on) -> "Accepted" | "Scheduled";
  clear_fault(port); set_limit(port, watts)  (port 0: the pile)
  status(port), info(port), is_idle(), pending_bills(limit), each_pending_bill(), ack_bill(id)
Events on the bus (firmware/bus.py): port.status, session.started, session.sample,
session.stopped, alarm.over_temperature; fields in docs/charging.md. Refusals raise
ChargeError(reason_code).
"""
import time

import log
from firmware.charging import port as P
from firmware.charging import portstep
from firmware.charging.limits import Limits
from firmware.charging.protect import TempGuard
from firmware.charging.session import KINDS, METHODS, OTHER, POWER_LOSS, REMOTE, Session, view
from firmware.charging.store import Store
from firmware.charging.tariff import Tariff

_log = log.get("charging")
_diff = time.ticks_diff
_add = time.ticks_add


class ChargeError(Exception):
    """args[0]: no_such_port, bad_budget, bad_method, bad_ref, port_busy, port_faulted, unavailable,
    reserved, over_temperature, total_power_exceeded, no_session, fault_active."""


class Pile:
    def __init__(self, cfg, board, store=None, clock=None, bus=None):
        board.all_off()  # safety first: every relay open before anything else runs
        c = self.c = cfg["charging"]
        self.board = board
        self.clock = clock or time.ticks_ms
        self.bus = bus
        self.tariff = Tariff(cfg["tariff"])
        self.store = store or Store(c["journal"], c["compact_bytes"])
        self.ports = [P.Port(i + 1, self._pub) for i in range(board.n)]
        self.temp = TempGuard(c)
        self.limits = Limits(c)
        self.total_w = 0
        self.glitches = 0  # meter energy jumps no load could make: never billed
        self._hot = False
        self._order = 0
        now = self.clock()
        self._last = self._ck_at = self._sample_at = now
        regs = self.store.registers(board.n)
        for p, r in zip(self.ports, regs):
            p.t_read = now
            p.reg_mwh = r
        self._regs = list(regs)  # as last journalled
        for n in self.store.disabled:
            if 1 <= n <= len(self.ports):
                self.ports[n - 1].disabled = True
                self.ports[n - 1].set(P.UNAVAILABLE, "restored")
        self._restore()

    # ---- events and helpers
    def _pub(self, topic, data):
        if self.bus is not None:
            self.bus.publish(topic, data)

    def _unix(self):
        return self.bus.now() if self.bus is not None else None

    def _port(self, n):
        if type(n) is not int or not 1 <= n <= len(self.ports):
            raise ChargeError("no_such_port")
        return self.ports[n - 1]

    def _relay(self, p, on):
        p.relay = on
        p.mismatch_ms = 0
        p.weld_n = -1  # the first reading after the release only sets the weld check's base
        p.t_relay = self.clock()
        self.board.relay(p.num - 1, on)

    def _after(self, i, t):
        """True when channel i's current reading was measured at or after ticks t."""
        since = getattr(self.board, "taken_since", None)
        return since is None or _diff(since(i), t) >= 0

    # ---- restore after a power cut
    def _restore(self):
        resume = self.c["resume_after_power_loss"]
        for sid, (rec, ck) in list(self.store.open.items()):
            s = Session.from_record(rec, self.tariff.new_cost())
            if ck:
                s.restore(ck)
            pn = s.port
            ok = type(pn) is int and 1 <= pn <= len(self.ports) and rec.get("b") in KINDS
            p = self.ports[pn - 1] if ok else None
            if ok and resume and p.session is None and s.budget_left() \
                    and s.active_ms < self.c["max_session_s"] * 1000:
                s.resumed = True
                self._attach(p, s)
                _log.info("port %d: session %d resumed after power loss", pn, sid)
                self._pub("session.started", s.started())
            else:
                bill = s.bill(POWER_LOSS, "power_loss" if s.budget_left() else "budget", self._unix())
                self.store.stop(bill)
                _log.info("port %s: session %d closed after power loss", pn, sid)
                self._pub("session.stopped", view(bill))

    # ---- commands
    def start(self, port, kind, amount=0, tag=None, method="service", reservation=None, ref=None, parent=None):
        p = self._port(port)
        if kind not in KINDS or type(amount) is not int or amount < 0 or (kind != "full" and amount == 0):
            raise ChargeError("bad_budget")
        if kind == "money" and amount <= self.tariff.start_fee:
            raise ChargeError("bad_budget")
        if method not in METHODS:
            raise ChargeError("bad_method")
        if ref is not None and (type(ref) is not str or len(ref) > 40):
            raise ChargeError("bad_ref")
        if p.session:
            raise ChargeError("port_busy")
        if p.fault:
            raise ChargeError("port_faulted")
        if p.disabled:
            raise ChargeError("unavailable")
        if p.resv and p.resv[0] != tag and (parent is None or p.resv[5] != parent):
            raise ChargeError("reserved")  # its idTag, or one of its parentIdTag (OCPP 1.6 5.13)
        if self.temp.hot:
            raise ChargeError("over_temperature")
        if not self.limits.admits(self.total_w):
            raise ChargeError("total_power_exceeded")
        if reservation is None and p.resv:
            reservation = p.resv[4]
        s = Session(self.store.new_id(), port, kind, amount, tag, self.tariff.new_cost(), method, reservation,
                    p.reg_mwh, self._unix(), ref)
        self.store.start(s.start_record())  # durable before the relay closes
        p.resv = None
        self._attach(p, s)
        self._pub("session.started", s.started())
        return s.id

    def _attach(self, p, s):
        p.session = s
        self._order += 1
        p.order = self._order
        s.t0 = self.clock()
        s.wait_ms = 0
        # the session's energy counts from the first reading measured after the relay
        # closed: a reading older than that holds the last user's tail (docs/charging.md)
        p.e_last = None
        if p.limit_w == 0:
            p.shed_w = 0
            p.set(P.SUSPENDED_EVSE, "port_limit")
            return
        self._relay(p, True)
        if s.resumed and s.float_ms >= 0:
            p.set(P.SUSPENDED_EV, "resumed")  # it was full before the cut: its float time goes on
        elif s.resumed and s.low_ms > 0:
            s.seen_load = True  # it was tapering towards full: no load wait, the timer goes on
            p.set(P.CHARGING, "resumed")
        else:
            p.set(P.PREPARING, "resumed" if s.resumed else "start")

    def change(self, port, kind, amount):
        """A running session's budget changes (a back end's order, DNY 0x8A): journalled, so a
        power cut keeps it. "below_used" when the new budget is already used up: the next
        control step stops the session with cause budget."""
        p = self._port(port)
        s = p.session
        if s is None:
            raise ChargeError("no_session")
        if kind not in ("time", "energy") or type(amount) is not int or amount <= 0:
            raise ChargeError("bad_budget")
        self.store.modify(s.id, kind, amount)
        s.kind, s.amount = kind, amount
        return "ok" if s.budget_left() else "below_used"

    def stop(self, port, reason=REMOTE, cause="remote"):
        p = self._port(port)
        if p.session is None:
            raise ChargeError("no_session")
        return self._stop(p, reason, cause)

    def stop_all(self, reason=OTHER, cause="stop_all"):
        for p in self.ports:
            if p.session:
                self._stop(p, reason, cause)

    def _stop(self, p, reason, cause):
        s = p.session
        self._relay(p, False)  # open first; bookkeeping after
        p.session = None
        unix = self._unix()
        if s.unix is None and unix is not None and not s.resumed:
            s.unix = unix - _diff(self.clock(), s.t0) // 1000  # the time became known meanwhile
        bill = s.bill(reason, cause, unix)
        self._save_regs()
        self.store.stop(bill)  # durable, with the registers
        _log.info("port %d: session %d stopped %s/%s, %d mWh, %d fen", p.num, s.id, reason, cause, bill["mwh"], bill["fen"])
        p.set(P.FINISHING, cause)
        self._pub("session.stopped", view(bill))
        return bill

    def _fault(self, p, cause):
        if p.fault == cause or (p.fault is not None and p.fault not in P.SELF_CLEARING):
            return
        if p.fault == "pile_over_temperature":
            return  # the pile-wide cause stays shown until it clears (then the other shows)
        p.fault = cause
        p.ok_since = None
        _log.warn("port %d: fault %s", p.num, cause)
        if p.session:
            self._stop(p, OTHER, cause)
        else:
            self._relay(p, False)
        p.set(P.FAULTED, cause)

    def _clear(self, p, cause):
        if p.fault == cause:
            p.fault = None
            _log.info("port %d: fault %s cleared", p.num, cause)
            if self._hot and cause != "pile_over_temperature":
                self._fault(p, "pile_over_temperature")  # the pile is still too hot
            elif p.session is None:
                p.set(p.idle_status(), "cleared")

    def clear_fault(self, port):
        """Operator or back end: clear a port's fault. A self-clearing fault whose cause is
        still there is refused (fault_active); a latched relay fault is cleared and comes
        back within weld_readings readings if the relay is still welded."""
        p = self._port(port)
        f = p.fault
        if f is None:
            return False
        if (f == "pile_over_temperature" and self.temp.hot) or \
                (f == "meter_silent" and _diff(self.clock(), p.t_read) > self.c["meter_timeout_ms"]):
            raise ChargeError("fault_active")
        self._clear(p, f)
        return True

    def set_available(self, port, on):
        """Port 0 = every port. Returns "Scheduled" when a running session delays it."""
        ports = self.ports if port == 0 else [self._port(port)]
        busy = False
        for p in ports:
            p.disabled = not on
            if p.session is None:
                p.set(p.idle_status(), "available" if on else "unavailable")
            else:
                busy = True
        self.store.save_disabled([p.num for p in self.ports if p.disabled])
        return "Scheduled" if busy and not on else "Accepted"

    def set_limit(self, port, watts):
        """A power limit in W for a port, or for the pile (port 0); None removes it."""
        if watts is not None and (type(watts) is not int or watts < 0):
            raise ChargeError("bad_limit")
        if port == 0:
            self.limits.set_cap(watts)
        else:
            self._port(port).limit_w = watts
            self.limits.hold_until = None

    def reserve(self, port, tag, expire_s=None, plan=None, start_in_s=0, reservation=None, parent=None):
        """Hold a port for `tag` (or a tag of the `parent` group) for expire_s; a reservation of
        the same id on the same port is replaced (OCPP ReserveNow)."""
        p = self._port(port)
        if p.resv and p.session is None and reservation is not None and p.resv[4] == reservation:
            p.resv = None
        if p.session or p.resv:
            raise ChargeError("port_busy")
        if p.fault:
            raise ChargeError("port_faulted")
        if p.disabled:
            raise ChargeError("unavailable")
        if plan and (plan[0] not in KINDS or type(plan[1]) is not int or plan[1] < 0):
            raise ChargeError("bad_budget")
        now = self.clock()
        at = _add(now, start_in_s * 1000)
        hold = expire_s if expire_s is not None else self.c["reserve_s"]
        p.resv = (tag, _add(at, hold * 1000), plan, at, reservation, parent)
        p.set(P.RESERVED, "scheduled" if plan else "reserved")

    def schedule(self, port, kind, amount, start_in_s, tag=None):
        """Start a session at a later time (e.g. off-peak); the port is Reserved meanwhile."""
        self.reserve(port, tag, None, (kind, amount), start_in_s)

    def cancel_reservation(self, port):
        p = self._port(port)
        if p.resv and p.session is None:
            p.resv = None
            p.set(p.idle_status(), "cancelled")
            return True
        return False

    # ---- queries
    def status(self, port):
        return self._port(port).status

    def info(self, port):
        p = self._port(port)
        s = p.session
        d = {"status": p.status, "fault": p.fault, "error": P.error_code(p.fault), "p_w": p.p_w, "v_dv": p.v_dv,
             "i_ma": p.i_ma, "pf": p.pf, "meter_wh": p.reg_mwh // 1000, "meter_mwh": p.reg_mwh,
             "limit_w": p.limit_w, "available": not p.disabled, "reservation": p.resv[4] if p.resv else None}
        if s:
            d.update({"id": s.id, "kind": s.kind, "amount": s.amount, "id_tag": s.tag, "method": s.method,
                      "mwh": s.energy(), "charged_s": s.charged_ms // 1000, "fen": s.cost.fen(s.energy()),
                      "tier": s.cost.tier})
        return d

    def is_idle(self):
        """No port has a session: safe for an OTA install."""
        for p in self.ports:
            if p.session:
                return False
        return True

    def pending_bills(self, limit=50):
        return [view(b) for b in self.store.bills(limit)]

    def each_pending_bill(self):
        """All pending bills in the domain's words, streamed from the journal one at a time."""
        it = self.store.each_bill()
        try:
            for b in it:
                yield view(b)
        finally:
            it.close()

    def ack_bill(self, sid):
        return self.store.ack(sid)

    def _save_regs(self):
        regs = [p.reg_mwh for p in self.ports]
        if regs != self._regs:
            self.store.save_registers(regs)
            self._regs = regs

    def checkpoint(self):
        n = 0
        for p in self.ports:
            if p.session:
                self.store.checkpoint(p.session.id, p.session.checkpoint())
                n += 1
        if n or [p.reg_mwh for p in self.ports] != self._regs:
            self._save_regs()
            self.store.sync()
            self.store.maybe_compact()

    # ---- the control loop
    def step(self):
        now = self.clock()
        dt = _diff(now, self._last)
        dt = dt if dt > 0 else 0
        self._last = now
        self.board.poll()
        total = 0
        running = []
        for p in self.ports:
            portstep.step(self, p, now, dt)
            if p.relay:
                total += p.p_w
                if p.session:
                    running.append(p)
        self.total_w = total
        if self.temp.due(now, _diff):
            self._temps()
        shed, resume = self.limits.plan(self.ports, total, now, _diff, running)
        for p, why in shed:
            p.shed_w = max(p.p_w, p.session.avg_mw // 1000)
            self._relay(p, False)
            p.set(P.SUSPENDED_EVSE, why)
        for p, why in resume:
            self._relay(p, True)
            p.set(P.CHARGING if p.session.seen_load else P.PREPARING, why)
        self._reservations(now)
        if _diff(now, self._ck_at) >= self.c["checkpoint_s"] * 1000:
            self._ck_at = now
            self.checkpoint()
        if self.c["sample_s"] and _diff(now, self._sample_at) >= self.c["sample_s"] * 1000:
            self._sample_at = now
            self._samples()

    def _samples(self):
        for p in self.ports:
            s = p.session
            if s is not None:
                self._pub("session.sample", {"id": s.id, "port": p.num, "meter_wh": p.reg_mwh // 1000,
                                             "meter_mwh": p.reg_mwh, "energy_mwh": s.energy(), "w": p.p_w,
                                             "v_dv": p.v_dv, "i_ma": p.i_ma, "pf": p.pf, "temp_dc": self.temp.max_dc,
                                             "status": p.status})

    def _temps(self):
        hot = self.temp.sample(self.board.temps_dc())
        if hot and not self._hot:
            _log.warn("pile over temperature (%s dC): stopping all ports", self.temp.max_dc)
            self._pub("alarm.over_temperature", {"on": True, "temp_dc": self.temp.max_dc})
            for p in self.ports:
                self._fault(p, "pile_over_temperature")
        elif self._hot and not hot:
            self._pub("alarm.over_temperature", {"on": False, "temp_dc": self.temp.max_dc})
            for p in self.ports:
                self._clear(p, "pile_over_temperature")
        self._hot = hot

    def _reservations(self, now):
        for p in self.ports:
            r = p.resv
            if r is None or p.session:
                continue
            tag, exp, plan, at = r[0], r[1], r[2], r[3]
            if _diff(now, exp) >= 0:
                p.resv = None
                p.set(p.idle_status(), "expired")
            elif plan and _diff(now, at) >= 0:
                try:
                    self.start(p.num, plan[0], plan[1], tag, "schedule")
                except ChargeError as e:  # e.g. over the pile cap now: retry until expiry
                    _log.info("port %d: scheduled start deferred: %s", p.num, e.args[0])

    async def run(self, feed=None):
        """Control loop task; any exit (error or cancel) opens every relay first. feed()
        after every step tells the supervisor the loop is alive."""
        import asyncio

        period = self.c["period_ms"]
        try:
            while True:
                self.step()
                if feed is not None:
                    feed()
                await asyncio.sleep_ms(period)
        except BaseException as e:
            self.board.all_off()
            _log.error("charging loop ended: %r; all relays off", e)
            raise
