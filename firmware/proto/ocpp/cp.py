"""The OCPP 1.6J charge point: its state and its three supervised tasks (docs/ocpp.md).

- conn: keeps one WebSocket to the CSMS over whichever link is up (conn.py), boots on it
  when needed (boot.py), reads it (rpc.py), pings it (WebSocketPingInterval); any loss,
  a link going down included, ends the connection and a new one follows after a backoff.
  A reconnect is not a reboot.
- events: the bus (port.status, session.*, link.*, card.ask): statuses, transactions into
  the journalled queue, meter values, clock-aligned readings, the front's card questions
  (auth.py answers them as it answers a tap). Runs online or not.
- sender: once the boot is accepted, one CALL at a time: status changes, then the queued
  transaction messages in order, then clock-aligned values, then the heartbeat when
  nothing was exchanged for HeartbeatInterval.
The CSMS's actions are in ACTIONS: each names the module and function that answers it; the
module is imported for its CALL and dropped again after it unless it was loaded before
(the heap holds only what runs; docs/ocpp.md "Memory"). Parts 2 and 3 add theirs there.
"""
import asyncio
import time

from micropython import const

import log
from firmware.proto.ocpp import cpcert, rpc

_log = log.get("ocpp")
# action -> (module of firmware.proto.ocpp, its function(cp, payload)); a function returns the
# CALLRESULT payload, or (payload, after) with `after` a coroutine function run once the
# answer is on its way; it raises rpc.CallError to answer a CALLERROR
ACTIONS = {
    "RemoteStartTransaction": ("remote", "remote_start"),
    "RemoteStopTransaction": ("remote", "remote_stop"),
    "Reset": ("remote", "reset"),
    "ChangeAvailability": ("remote", "change_availability"),
    "UnlockConnector": ("remote", "unlock"),
    "GetConfiguration": ("confkeys", "get"),
    "ChangeConfiguration": ("confkeys", "change"),
    "DataTransfer": ("datatransfer", "handle"),
    "ClearCache": ("auth", "clear_cache"),
    "ReserveNow": ("reserve", "reserve_now"),
    "CancelReservation": ("reserve", "cancel_reservation"),
    "TriggerMessage": ("trigger", "trigger"),
    "SendLocalList": ("llist", "send"),
    "GetLocalListVersion": ("llist", "version"),
    "SetChargingProfile": ("smart", "set_profile"),
    "ClearChargingProfile": ("smart", "clear_profile"),
    "GetCompositeSchedule": ("smart", "composite"),
    "SignedUpdateFirmware": ("fwupdate", "signed_update"),  # part 2 (docs/ocpp.md "Part 2")
    "GetLog": ("logup", "get_log"),
    "GetDiagnostics": ("logup", "get_diagnostics"),
    "InstallCertificate": ("certs", "install"),
    "GetInstalledCertificateIds": ("certs", "get_ids"),
    "DeleteCertificate": ("certs", "delete"),
    "ExtendedTriggerMessage": ("trigger", "extended"),
    "CertificateSigned": ("certsign", "certificate_signed"),
}
_CRYPTO = ("x509", "der", "pem", "eckey", "csr", "p256", "rsa")  # dropped after certsign's work
_EVENTS = const(48)
_CARD_ASK_MS = const(4000)  # an Authorize for the front: below its 5 s wait, so the offline rules answer, not its list
_PKG = "firmware.proto.ocpp."


class _Actions:
    """rpc's handler table: a callable per implemented action, importing its module on use."""

    def __init__(self, cp):
        self.cp = cp

    def get(self, action):
        ent = ACTIONS.get(action)
        if ent is None:
            return None
        cp = self.cp

        def handler(payload):
            import sys

            name = _PKG + ent[0]
            loaded = name in sys.modules
            mod = __import__(name, None, None, [ent[1]])
            try:
                return getattr(mod, ent[1])(cp, payload)
            finally:
                if not loaded:
                    del sys.modules[name]
                    pkg = sys.modules.get(_PKG[:-1])
                    if pkg is not None and hasattr(pkg, ent[0]):
                        delattr(pkg, ent[0])

        return handler

    def __getitem__(self, action):
        h = self.get(action)
        if h is None:
            raise KeyError(action)
        return h


class Cp:
    def __init__(self, cfg, station, bus, data="/data/ocpp"):
        import fsatomic
        from firmware.proto.ocpp import auth, boot, conn, fw, ids, meter, outq, reserve, smart, status, tx, txq

        self.cfg = cfg
        self.o = cfg["ocpp"]
        self.station = station
        self.bus = bus
        self.id = self.o["id"] or cfg["pile"]["id"]
        fsatomic.mkdirs(data)
        self.ids = ids.Ids(data + "/ids.json")
        self.handlers = _Actions(self)
        self.rpc = rpc.Rpc(self.handlers, self.o["call_timeout_s"] * 1000)
        self.rpc.count = lambda tx, rx: station.backend_traffic(None, tx, rx)  # noqa: E731
        self.wake = asyncio.Event()  # the sender has something to do
        self.accepted = asyncio.Event()  # connected and the boot accepted: CALLs may go
        self.closed = asyncio.Event()  # the current connection ended
        self.closed.set()
        self.txq = txq.TxQueue(data + "/txq.jnl", self.o["queue_kb"] * 1024)
        self.boot = boot.Boot(self)
        self.conn = conn.Conn(self)
        self.status = status.Status(self, cfg["pile"]["ports"])
        self.tx = tx.Tx(self)
        self.rpc.on_late = self.tx.late
        self.rpc.on_oom = self.out_of_memory
        self.rpc.on_security = self.security
        self.meter = meter.Meter(self)
        self.auth = auth.Auth(self, data + "/auth.json")
        self.resv = reserve.Resv(self, data + "/resv.json")
        self.smart = smart.Smart(self, data + "/profiles.json")
        self.budgets = []  # DataTransfer budgets waiting for their RemoteStart (datatransfer.py)
        self.outq = outq.OutQueue(self, data + "/outq.jnl")  # firmware statuses, security events
        self.fw = fw.Fw(self, data + "/fw.json")  # a SignedUpdateFirmware in progress
        self.data = data
        self._started = False  # StartupOfTheDevice sent for this boot
        self.cert_switch = None  # the task waiting for a new certificate's notBefore (cpcert.py)
        self.renew_at = None  # unix time of the next look at the client certificate's expiry
        self.log_task = None  # a GetLog/GetDiagnostics upload (logup.py)...
        self.log_rid = None  # ...and its requestId (None for GetDiagnostics)
        topics = ("port.", "session.", "link.", "ota.", "alarm.")
        if cfg.get("front", {}).get("card_check") == "backend":
            topics += ("card.ask",)  # the front asks the back end about its cards
        self.sub = bus.subscribe(*topics, size=_EVENTS)
        station.set_authorizer(self.auth.authorize)
        station.add_start_guard(self.tx.guard)
        self.last_ms = time.ticks_ms()  # the last exchange with the CSMS (heartbeat)
        self.ws = None
        self._ping = None

    # ---- the connection
    async def run_conn(self, beat):
        first = True
        while True:
            beat()
            if self.station.link() is None:
                await self._link_up()
                continue
            if not first:
                await asyncio.sleep_ms(self.conn.backoff_ms() if self.conn.fails else 1000)
            first = False
            try:
                ws = await self.conn.open()
            except Exception as e:  # noqa: BLE001  WSError (conn.py logged it) or worse: back off
                self.station.backend_traffic(False)
                if type(e).__name__ != "WSError":
                    _log.warn("connect failed: %r", e)
                    self.conn.fails += 1
                continue
            await self._session(ws, beat)

    async def _link_up(self):
        for _ in range(600):
            if self.station.link() is not None:
                return
            await asyncio.sleep_ms(100)

    async def _session(self, ws, beat):
        self.ws = ws
        self.closed.clear()
        self.rpc.ws = ws  # calls may go before the reader task first runs
        reader = asyncio.create_task(self._read(ws))
        try:
            if await self.boot.run(self.closed):
                self.conn.accepted()  # a new key or profile that got this far is kept
                self.accepted.set()
                self.wake.set()
                cpcert.renew_check(self)  # now, not at the events task's next wake (up to a minute)
                self.station.backend_traffic(True)
                self._ping = asyncio.create_task(self._pinger(ws))
            await self.closed.wait()
        finally:
            self.accepted.clear()
            if self._ping is not None:
                self._ping.cancel()
                self._ping = None
            ws.abort()
            reader.cancel()
            self.ws = None
            self.conn.ws = None
            self.rpc.answering = True
            beat()

    async def _read(self, ws):
        try:
            await self.rpc.serve(ws)
        finally:
            self.closed.set()

    async def _pinger(self, ws):
        while True:
            s = self.o["ping_s"]
            await asyncio.sleep_ms((s or 60) * 1000)
            if s and not await ws.ping(min(s, 30)):
                _log.warn("no pong within %d s: reconnecting", min(s, 30))
                ws.abort()
                return

    async def check_alive(self):
        """After a call timed out: a ping tells a slow CSMS from a dead connection."""
        ws = self.ws
        if ws is not None:
            try:
                if not await ws.ping(10):
                    _log.warn("no pong after a timeout: reconnecting")
                    ws.abort()
            except Exception:  # noqa: BLE001  already closed
                ws.abort()

    async def reconnect(self):
        """A new connection now (a new key or security profile)."""
        await asyncio.sleep_ms(200)
        ws = self.ws
        if ws is not None:
            await ws.close(1000, "reconnecting")

    # ---- the bus
    def security(self, kind, tech=""):
        """A security event (secev.py): logged; queued for the CSMS when it is one it must get."""
        self._secev("record", kind, tech, self.data + "/seclog.jnl")
        _log.warn("security event %s %s", kind, tech)

    def out_of_memory(self, where):
        """A MemoryError caught in a CSMS command's handler or the events task: the critical
        event MemoryExhaustion (whitepaper section 8), after freeing what the failed work held."""
        import gc

        gc.collect()
        try:
            self.security("MemoryExhaustion", "%s: MemoryError, %d bytes free after collection" % (where, gc.mem_free()))
        except MemoryError:
            _log.error("MemoryExhaustion in %s: not even the event fits", where)

    def _secev(self, fn, *args):
        try:
            self.use("secev", fn, *args)
        except OSError as e:  # a full flash: the log line below still tells
            _log.error("security event not recorded (%s): %r", fn, e)

    def use(self, mod, fn, *args):
        """mod.fn(self, *args) with mod (a module of this package) imported for the call and
        dropped after it, with the crypto it loaded."""
        import sys

        name = _PKG + mod
        loaded = name in sys.modules
        m = __import__(name, None, None, [fn])
        try:
            return getattr(m, fn)(self, *args)
        finally:
            if not loaded:
                sys.modules.pop(name, None)
                pkg = sys.modules.get(_PKG[:-1])
                if pkg is not None and hasattr(pkg, mod):
                    delattr(pkg, mod)
                if mod == "certsign":
                    for c in _CRYPTO:
                        sys.modules.pop(c, None)

    async def run_events(self, beat):
        if not self._started:
            self._started = True
            self.security("StartupOfTheDevice", "boot %d" % self.ids.boot)
        self.fw.resume()
        self._secev("door_alarms")
        cpcert.at_start(self)
        self.tx.reconcile()
        self.resv.restore()
        sub = self.sub
        while True:
            beat()
            wait = self.meter.due_ms()
            w2 = self.smart.due_ms()
            if w2 is not None:
                wait = w2 if wait is None else min(wait, w2)
            try:
                ev = await asyncio.wait_for_ms(sub.get(), 60000 if wait is None else max(1, min(wait, 60000)))
            except asyncio.TimeoutError:
                ev = None
            self.meter.tick()
            self.smart.tick()
            self.resv.restore()
            cpcert.renew_check(self)
            if ev is None:
                continue
            if sub.take_dropped():
                _log.warn("bus events lost: reconciling with the pile's bills")
                self.tx.reconcile()
            try:
                self.event(ev)
            except MemoryError:
                ev = None  # (its data is freed before the event is recorded)
                self.out_of_memory("events")
                raise  # the supervisor restarts the task, as for any crash

    def event(self, ev):
        t = ev.topic
        if t == "port.status":
            self.status.on_port(ev)
            self.resv.on_status(ev)
            self.tx.on_status(ev)
            self.fw.close_idle()  # a session ended while an install waits for idle ports
        elif t == "session.started":
            self.tx.on_started(ev)
            self.smart.changed = True  # a relative or TxProfile starts with it
        elif t == "session.sample":
            self.meter.on_sample(ev)
        elif t == "session.stopped":
            self.tx.on_stopped(ev)
            self.smart.session_ended(ev.data.get("port"))
        elif t == "card.ask":
            asyncio.create_task(self._card(ev.data))
        elif t.startswith("ota."):
            self.fw.on_ota(t[4:], ev.data)
        elif t == "alarm.door":
            self._secev("door_alarms")
        elif t == "link.down":
            ws = self.ws
            if ws is not None:
                _log.info("link %s down: reconnecting when a link is up", ev.data.get("link"))
                ws.abort()

    async def _card(self, d):
        """The front's card.ask: judged like any idTag (auth.py: cache, Authorize, offline
        rules), answered through station.card_answer. Accepted carries no budget (OCPP 1.6
        has none: the pile's default applies); refused carries the idTagInfo status in
        lower case (blocked, expired, invalid, concurrenttx) as the reason. A start that
        follows is a session of method "card" with this idTag: a transaction like any other."""
        try:
            st, _ = await self.auth.authorize(d["id_tag"], _CARD_ASK_MS)
        except (KeyError, TypeError) as e:  # a malformed event: the front's own wait ends it
            _log.warn("card.ask: %r", e)
            return
        ok = st == "Accepted"
        self.station.card_answer(d["req"], ok, None, 0, None, None if ok else st.lower())

    def wake_events(self):
        """The events task recomputes its wait now (a charging profile changed)."""
        from firmware.bus import Event

        if self.sub.pending() < _EVENTS - 1:
            self.sub.put(Event("ocpp.wake", None, time.ticks_ms(), None))

    # ---- the sender
    async def run_sender(self, beat):
        while True:
            beat()
            await self.accepted.wait()
            try:
                sent = await self._one()
            except rpc.Offline:
                await asyncio.sleep_ms(100)
                continue
            if sent:
                self.last_ms = time.ticks_ms()
                self.station.backend_traffic(True)
                continue
            self.wake.clear()
            try:
                await asyncio.wait_for_ms(self.wake.wait(), self._idle_ms())
            except asyncio.TimeoutError:
                pass

    def _idle_ms(self):
        hb = self.boot.interval_s * 1000
        left = hb - time.ticks_diff(time.ticks_ms(), self.last_ms) if hb else 3600000
        due = self.tx.due()
        if due is not None:
            left = min(left, due)
        due = self.outq.due()
        if due is not None:
            left = min(left, due)
        return max(10, left)

    async def _one(self):
        """Send one message if any is due; True when a message went."""
        s = self.status.next()
        if s is not None:
            c, p = s
            try:
                await self.rpc.call("StatusNotification", p, self.ids.next())
            except (rpc.CallError, rpc.BadAnswer, rpc.Timeout) as e:
                _log.warn("StatusNotification %d: %r", c, e)
                self.status.delivered(c, p)  # not retried forever: the next change goes
                return True
            self.status.delivered(c, p)
            return True
        if await self.tx.send_head():
            return True
        if await self.outq.send_head():
            return True
        lm = self.meter.next_loose()
        if lm is not None:
            port, p = lm
            try:
                await self.rpc.call("MeterValues", p, self.ids.next())
            except (rpc.CallError, rpc.BadAnswer, rpc.Timeout) as e:
                _log.warn("MeterValues %d: %r", port, e)
            self.meter.loose_sent(port)
            return True
        hb = self.boot.interval_s * 1000
        if hb and time.ticks_diff(time.ticks_ms(), self.last_ms) >= hb:
            try:
                await self.boot.heartbeat()
            except (rpc.CallError, rpc.BadAnswer, rpc.Timeout) as e:
                _log.warn("Heartbeat: %r", e)
            return True
        return False

    def info(self):
        """What `upile status` shows (diag provider "ocpp")."""
        q = self.txq
        return {"id": self.id, "connected": self.ws is not None, "boot": self.boot.state,
                "accepted": self.accepted.is_set(), "conn": self.conn.status(), "queue": q.pending(),
                "queue_bytes": q.live, "mv_dropped": q.mv_dropped, "discarded_bills": sorted(q.discarded),
                "tx_sent": self.tx.sent, "retransmits": self.tx.retransmits, "late_answers": self.tx.lates, "bytes_tx": self.rpc.tx_bytes,
                "bytes_rx": self.rpc.rx_bytes, "dropped_frames": self.rpc.dropped,
                "reservations": sorted(self.resv.held), "local_list": [self.auth.llist.version, self.auth.llist.count],
                "profiles": [q[0] for q in self.smart.profiles], "limits_w": {"%d" % c: w for c, w in self.smart.applied.items()},
                "notes": self.outq.pending(), "firmware": (self.fw.st or {}).get("ph")}
