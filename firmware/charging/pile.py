"""The pile: N ports, their sessions, protections and the power cap, in one control loop.

Public API (ports are 1-based like OCPP connectorId):
  Pile(cfg, board, store=None, clock=None, on_event=None); await pile.run(feed=None)
  start(port, kind, amount, tag=None) -> session id   (kind: time min | energy Wh | money fen | full)
  stop(port, reason="Remote", cause="remote") -> bill; stop_all(reason, cause)
  reserve(port, tag, expire_s=None); schedule(port, kind, amount, start_in_s, tag=None);
  cancel_reservation(port); set_available(port, on); clear_fault(port)
  status(port), info(port), is_idle(), pending_bills(limit), each_pending_bill(), ack_bill(id),
  step()
Events: on_event(kind, port, detail): "status" {status, prev, cause}, "session_started",
"session_stopped" (the bill). Refusals raise ChargeError(reason_code).
"""
import time
import log
from firmware.charging import port as P
from firmware.charging.session import Session, KINDS, REMOTE, POWER_LOSS, OTHER
from firmware.charging.tariff import Tariff
from firmware.charging.store import Store
from firmware.charging.protect import TempGuard, reading_trip, volt_bad
from firmware.charging.limits import Limits

_log = log.get("charging")
_diff = time.ticks_diff
_add = time.ticks_add


class ChargeError(Exception):
    """args[0]: no_such_port, bad_budget, port_busy, port_faulted, unavailable, reserved,
    over_temperature, total_power_exceeded, no_session."""


class Pile:
    def __init__(self, cfg, board, store=None, clock=None, on_event=None):
        board.all_off()  # safety first: every relay open before anything else runs
        c = self.c = cfg["charging"]
        self.board = board
        self.clock = clock or time.ticks_ms
        self.on_event = on_event
        self.tariff = Tariff(cfg["tariff"])
        self.store = store or Store(c["journal"], c["compact_bytes"])
        self.ports = [P.Port(i + 1, self._emit) for i in range(board.n)]
        self.temp = TempGuard(c)
        self.limits = Limits(c)
        self.total_w = 0
        self._hot = False
        self._order = 0
        now = self.clock()
        self._last = self._ck_at = now
        for p in self.ports:
            p.t_read = now
        self._restore()

    # ---- events and helpers
    def _emit(self, kind, port, detail):
        if self.on_event is None:
            return
        try:
            self.on_event(kind, port, detail)
        except Exception as e:  # a subscriber's bug must never stop charging control
            _log.error("event handler failed on %s port %d: %r", kind, port, e)

    def _port(self, n):
        if type(n) is not int or not 1 <= n <= len(self.ports):
            raise ChargeError("no_such_port")
        return self.ports[n - 1]

    def _relay(self, p, on):
        p.relay = on
        p.mismatch_ms = 0
        self.board.relay(p.num - 1, on)

    # ---- restore after a power cut
    def _restore(self):
        resume = self.c["resume_after_power_loss"]
        for sid, (rec, ck) in list(self.store.open.items()):
            pn, kind = rec.get("p"), rec.get("b")
            s = Session(sid, pn, kind if kind in KINDS else "full", rec.get("a", 0), rec.get("tag"), self.tariff.new_cost())
            if ck:
                s.restore(ck)
            ok = type(pn) is int and 1 <= pn <= len(self.ports) and kind in KINDS
            p = self.ports[pn - 1] if ok else None
            if ok and resume and p.session is None and s.budget_left() and s.active_ms < self.c["max_session_s"] * 1000:
                s.resumed = True
                self._attach(p, s)
                _log.info("port %d: session %d resumed after power loss", pn, sid)
                self._emit("session_started", pn, self._started(s))
            else:
                bill = s.bill(POWER_LOSS, "power_loss" if s.budget_left() else "budget")
                self.store.stop(bill)
                _log.info("port %s: session %d closed after power loss", pn, sid)
                self._emit("session_stopped", pn if ok else 0, bill)

    @staticmethod
    def _started(s):
        return {"id": s.id, "kind": s.kind, "amount": s.amount, "tag": s.tag, "resumed": s.resumed}

    # ---- commands
    def start(self, port, kind, amount=0, tag=None):
        p = self._port(port)
        if kind not in KINDS or type(amount) is not int or amount < 0 or (kind != "full" and amount == 0):
            raise ChargeError("bad_budget")
        if kind == "money" and amount <= self.tariff.start_fee:
            raise ChargeError("bad_budget")
        if p.session:
            raise ChargeError("port_busy")
        if p.fault:
            raise ChargeError("port_faulted")
        if p.disabled:
            raise ChargeError("unavailable")
        if p.resv and p.resv[0] != tag:
            raise ChargeError("reserved")
        if self.temp.hot:
            raise ChargeError("over_temperature")
        if not self.limits.admits(self.total_w):
            raise ChargeError("total_power_exceeded")
        s = Session(self.store.new_id(), port, kind, amount, tag, self.tariff.new_cost())
        self.store.start(s.start_record())  # durable before the relay closes
        p.resv = None
        self._attach(p, s)
        self._emit("session_started", port, self._started(s))
        return s.id

    def _attach(self, p, s):
        p.session = s
        self._order += 1
        p.order = self._order
        p.e_last = self.board.channel(p.num - 1).energy_mwh()
        s.wait_ms = 0
        self._relay(p, True)
        p.set(P.PREPARING, "resumed" if s.resumed else "start")

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
        bill = s.bill(reason, cause)
        self.store.stop(bill)
        _log.info("port %d: session %d stopped %s/%s, %d mWh, %d fen", p.num, s.id, reason, cause, bill["mwh"], bill["fen"])
        p.set(P.FINISHING, cause)
        self._emit("session_stopped", p.num, bill)
        return bill

    def _fault(self, p, cause):
        if p.fault == cause or (p.fault is not None and p.fault not in P.SELF_CLEARING):
            return
        p.fault = cause
        _log.warn("port %d: fault %s", p.num, cause)
        if p.session:
            self._stop(p, OTHER, cause)
        else:
            self._relay(p, False)
        p.set(P.FAULTED, cause)

    def _clear(self, p, cause):
        if p.fault == cause:
            p.fault = None
            if p.session is None:
                p.set(p.idle_status(), "cleared")

    def clear_fault(self, port):
        p = self._port(port)
        if p.fault:
            self._clear(p, p.fault)

    def set_available(self, port, on):
        p = self._port(port)
        p.disabled = not on
        if p.session is None:
            p.set(p.idle_status())

    def reserve(self, port, tag, expire_s=None, plan=None, start_in_s=0):
        p = self._port(port)
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
        p.resv = (tag, _add(at, hold * 1000), plan, at)
        p.set(P.RESERVED, "scheduled" if plan else "reserved")

    def schedule(self, port, kind, amount, start_in_s, tag=None):
        """Start a session at a later time (e.g. off-peak); the port is Reserved meanwhile."""
        self.reserve(port, tag, None, (kind, amount), start_in_s)

    def cancel_reservation(self, port):
        p = self._port(port)
        if p.resv and p.session is None:
            p.resv = None
            p.set(p.idle_status(), "cancelled")

    # ---- queries
    def status(self, port):
        return self._port(port).status

    def info(self, port):
        p = self._port(port)
        s = p.session
        d = {"status": p.status, "fault": p.fault, "p_w": p.p_w}
        if s:
            d.update({"id": s.id, "kind": s.kind, "amount": s.amount, "mwh": s.energy(),
                      "charged_s": s.charged_ms // 1000, "fen": s.cost.fen(s.energy()), "tier": s.cost.tier})
        return d

    def is_idle(self):
        """No port has a session: safe for an OTA install."""
        for p in self.ports:
            if p.session:
                return False
        return True

    def pending_bills(self, limit=50):
        return self.store.bills(limit)

    def each_pending_bill(self):
        """All pending bills, streamed from the journal one at a time."""
        return self.store.each_bill()

    def ack_bill(self, sid):
        return self.store.ack(sid)

    def checkpoint(self):
        n = 0
        for p in self.ports:
            if p.session:
                self.store.checkpoint(p.session.id, p.session.checkpoint())
                n += 1
        if n:
            self.store.sync()
            self.store.maybe_compact()

    # ---- the control loop
    def step(self):
        now = self.clock()
        dt = _diff(now, self._last)
        dt = dt if dt > 0 else 0
        self._last = now
        b = self.board
        b.poll()
        total = 0
        running = []
        for p in self.ports:
            self._port_step(p, now, dt)
            if p.relay:
                total += p.p_w
                if p.session and p.p_w > 0:
                    running.append(p)
        self.total_w = total
        if self.temp.due(now, _diff):
            self._temps()
        shed, resume = self.limits.plan(self.ports, total, now, _diff, running)
        for p in shed:
            p.shed_w = max(p.p_w, p.session.avg_mw // 1000)
            self._relay(p, False)
            p.set(P.SUSPENDED_EVSE, "power_cap")
        for p in resume:
            self._relay(p, True)
            p.set(P.CHARGING, "power_cap")
        self._reservations(now)
        if _diff(now, self._ck_at) >= self.c["checkpoint_s"] * 1000:
            self._ck_at = now
            self.checkpoint()

    def _port_step(self, p, now, dt):
        c = self.c
        i = p.num - 1
        ch = self.board.channel(i)
        d = 0
        if ch.seq != p.seq:
            p.seq = ch.seq
            p.t_read = now
            p.p_w = ch.p_mw // 1000
            p.i_ma = ch.i_ma
            p.v_dv = ch.v_mv // 100
            e = ch.energy_mwh()
            if p.e_last is not None and e > p.e_last:
                d = e - p.e_last
            p.e_last = e
            self._clear(p, "meter_silent")
            if p.relay:
                why = reading_trip(c, p.p_w, p.i_ma)
                if why:
                    if p.session:
                        self._stop(p, OTHER, why)
                    else:
                        self._relay(p, False)
                    return
            elif p.p_w > c["off_power_w"]:
                self._fault(p, "relay_welded")
                return
        elif _diff(now, p.t_read) > c["meter_timeout_ms"]:
            p.p_w = 0
            self._fault(p, "meter_silent")
        rb = self.board.readback(i)
        if rb is not None and rb != p.relay:
            p.mismatch_ms += dt
            if p.mismatch_ms >= c["relay_check_ms"]:
                self._fault(p, "relay_readback")
                return
        else:
            p.mismatch_ms = 0
        s = p.session
        if s is None:
            if p.status == P.FINISHING:
                p.set(p.idle_status())
            return
        st = p.status
        if st == P.SUSPENDED_EVSE or st == P.PREPARING:
            s.account(dt, d, False)
            if st == P.PREPARING:
                s.wait_ms += dt
                if p.p_w >= c["noload_w"]:
                    s.seen_load = True
                    p.set(P.CHARGING, "load")
                elif s.wait_ms >= (c["resume_load_s"] if s.resumed else c["noload_s"]) * 1000:
                    self._stop(p, OTHER, "no_load")
            return
        s.account(dt, d, True)
        s.track_power(p.p_w, dt)
        r = s.check(c, p.p_w, dt)
        if r is None and not s.budget_left():
            r = (OTHER, "budget")
        if r is None and s.active_ms >= c["max_session_s"] * 1000:
            r = (OTHER, "max_time")
        if r is None:
            if volt_bad(c, p.v_dv):
                s.volt_ms += dt
                if s.volt_ms >= c["volt_s"] * 1000:
                    r = (OTHER, "voltage")
            else:
                s.volt_ms = 0
        if r:
            self._stop(p, r[0], r[1])
        elif s.float_ms >= 0 and st == P.CHARGING:
            p.set(P.SUSPENDED_EV, "full")

    def _temps(self):
        hot = self.temp.sample(self.board.temps_dc())
        if hot and not self._hot:
            _log.warn("pile over temperature (%s dC): stopping all ports", self.temp.max_dc)
            for p in self.ports:
                self._fault(p, "pile_over_temperature")
        elif self._hot and not hot:
            for p in self.ports:
                self._clear(p, "pile_over_temperature")
        self._hot = hot

    def _reservations(self, now):
        for p in self.ports:
            r = p.resv
            if r is None or p.session:
                continue
            tag, exp, plan, at = r
            if _diff(now, exp) >= 0:
                p.resv = None
                p.set(p.idle_status(), "expired")
            elif plan and _diff(now, at) >= 0:
                try:
                    self.start(p.num, plan[0], plan[1], tag)
                except ChargeError as e:  # e.g. over the pile cap now: retry until expiry
                    _log.info("port %d: scheduled start deferred: %s", p.num, e.args[0])

    async def run(self, feed=None):
        """Control loop task; any exit (error or cancel) opens every relay first."""
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
