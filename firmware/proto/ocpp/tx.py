"""Transactions: the pile's sessions as OCPP Start/StopTransaction (and their meter values),
through the journalled queue (txq.py); docs/ocpp.md "Transactions".

- A session becomes an OCPP transaction when it first draws power (port Charging or
  SuspendedEV): a socket pile has no plug sensor, so its relay closes at the start and the
  bike is seen by its load. A session that never drew power (nobody plugged in within
  ConnectionTimeOut = charging.noload_s) is no transaction: its bill is acked at once.
- meterStart/meterStop are the port's energy register in Wh (charging: meterStop - meterStart
  is exactly the billed energy); timestamps are real UTC (a time unknown when the session
  started is dated from the bus event's ticks once the clock is known).
- Every stop reason of the pile is an OCPP reason already (EVDisconnected, Local, Remote,
  PowerLoss, Reboot, SoftReset, HardReset, EmergencyStop, DeAuthorized, UnlockCommand, Other).
- The bill of a session stays in the pile's journal until its StopTransaction is answered
  (station.ack_bill, before the queue marks it done). A Stop discarded after
  TransactionMessageAttempts CALLERRORs leaves the queue, never the pile's journal: the bill
  stays pending (`upile status`, the maintenance port's `bills`, DataTransfer PendingBills),
  logged at WARN, until a person or the CSMS acks it.
- reconcile(): at start and whenever bus events were lost, the pending bills decide: a bill
  of a session the queue never saw gets its Start and Stop queued (a power cut between the
  pile's journal and ours), one whose Start is queued gets its Stop. A session.stopped event
  that comes after its bill was already reconciled, sent and acked queues nothing: a bill no
  longer pending is never made a new transaction.
"""
import time

from micropython import const

import log
from firmware.proto.ocpp import dt, rpc
from firmware.proto.ocpp.meter import sv as _sv
from firmware.proto.ocpp.txq import ACTIONS, KM, KS, KX

_log = log.get("ocpp")
_RUNNING = ("Charging", "SuspendedEV")
_TIMEOUT_RETRY_MS = const(5000)


class Tx:
    def __init__(self, cp):
        self.cp = cp
        self.q = cp.txq
        self.cur = {}  # port -> the open session: (sid, idTag, meterStart, start unix, ticks, reservation)
        self.wait_until = None  # ticks: the head waits its retry interval after a CALLERROR
        self.limited = set()  # ports suspended after an invalid idTag (StopTransactionOnInvalidId false)
        self.sent = 0
        self.retransmits = 0
        self.timeouts = 0  # timeouts of the head in a row: each retransmission waits twice as long
        self.lates = 0  # answers taken after their timeout
        self.ended = []  # sids whose Stop was answered lately: late events of theirs start nothing

    # ---- from the bus
    def on_started(self, ev):
        d = ev.data
        self.cur[d["port"]] = (d["id"], d.get("id_tag") or self.cp.o["local_tag"], d.get("meter_start") or 0,
                               d.get("start_time"), ev.ms, d.get("reservation"))

    def on_status(self, ev):
        d = ev.data
        c = d.get("port")
        s = self.cur.get(c)
        if s is not None and d.get("status") in _RUNNING and s[0] not in self.q.tx and s[0] not in self.ended:
            self._start({"s": s[0], "c": c, "t": s[1], "m": s[2], "ts": s[3], "b": self.cp.ids.boot, "ms": s[4],
                         "r": s[5]})

    def _start(self, fields):
        self.q.start(fields)
        self.cp.wake.set()

    def is_tx(self, port):
        """The session on `port` (or the one just stopped there) is an OCPP transaction."""
        s = self.cur.get(port)
        return s is not None and s[0] in self.q.tx

    def open_sessions(self):
        return len(self.cur)

    def on_stopped(self, ev):
        b = ev.data
        port = b.get("port")
        s = self.cur.get(port)
        if s is not None and s[0] == b["id"]:
            del self.cur[port]
        if port in self.limited:
            self.limited.discard(port)
            try:
                self.cp.station.set_limit(port, None)
            except Exception:  # noqa: BLE001  the port is gone: nothing to lift
                pass
        self.bill(b, ev)

    def bill(self, b, ev=None):
        """Queue what a stopped session's bill still needs (idempotent)."""
        q = self.q
        sid = b["id"]
        if sid in q.discarded or sid in q.xq:
            return
        if sid not in q.tx:
            if not self.cp.station.bill_pending(sid):
                return  # done already: a session.stopped that waited behind a reconcile
            if not b.get("energy_mwh") and not b.get("charged_s"):
                self.cp.station.ack_bill(sid)  # never drew power: no OCPP transaction
                return
            self._start(self._start_of(b))
        unix_ms = (ev.ms if ev is not None else time.ticks_ms())
        q.stop({"s": sid, "m": b.get("meter_stop") or 0, "ts": b.get("stop_time"), "b": self.cp.ids.boot,
                "ms": unix_ms, "r": b.get("reason") or "Other",
                "t": self.cp.station.stop_tags.pop(sid, None) or b.get("id_tag"),
                "mb": b.get("meter_start") or 0, "tb": b.get("start_time")})
        self.cp.wake.set()

    def _start_of(self, b):
        return {"s": b["id"], "c": b["port"], "t": b.get("id_tag") or self.cp.o["local_tag"],
                "m": b.get("meter_start") or 0, "ts": b.get("start_time"), "b": None, "ms": 0,
                "r": b.get("reservation")}

    def reconcile(self):
        """The pile's pending bills against the queue (after a restart or lost events)."""
        st = self.cp.station
        pending = set()
        try:
            for b in st.each_pending_bill():
                pending.add(b["id"])
                self.bill(b)
        except Exception as e:  # noqa: BLE001  no pile: nothing to reconcile
            _log.warn("reconcile: %r", e)
            return
        gone = [sid for sid in self.q.discarded if sid not in pending]
        for sid in gone:  # acked by a person or the CSMS since: forgotten
            self.q.discarded.discard(sid)

    def guard(self, port, method, id_tag):
        """station start guard: room on flash for one more session's Start and Stop."""
        if self.q.room(self.open_sessions()):
            return None
        _log.warn("transaction queue full (%d bytes): new sessions refused", self.q.live)
        return ("queue_full", "OCPP transaction queue full")

    # ---- sending (the sender task, one message at a time)
    def due(self):
        """ms until the head may go (0: now), or None when the queue is empty."""
        if self.q.head() is None:
            return None
        if self.wait_until is None:
            return 0
        return max(0, time.ticks_diff(self.wait_until, time.ticks_ms()))

    def _stamp(self, r, key="ts", seq=None):
        t = r.get(key)
        if t is None and seq is not None:
            t = self.q.stamps.get(seq)
        if t is None:
            if r.get("b") == self.cp.ids.boot:
                now = self.cp.station.bus.now()
                if now is not None:
                    t = now - time.ticks_diff(time.ticks_ms(), r["ms"]) // 1000
            if t is None:  # the clock was never known in the boot it happened: the first time we know
                t = self.cp.station.bus.now() or 0
            if seq is not None:
                self.q.stamp(seq, t)  # a retransmission says the same
        return dt.iso(t)

    def payload(self, kind, r, seq=None):
        txid = self.q.txid_of(r["s"])
        txid = -1 if txid is None else txid
        if kind == KS:
            p = {"connectorId": r["c"], "idTag": r["t"][:20], "meterStart": r["m"], "timestamp": self._stamp(r, "ts", seq)}
            if r.get("r") is not None:
                p["reservationId"] = r["r"]
            return p
        if kind == KM:
            p = {"connectorId": r["c"], "transactionId": txid, "meterValue": [
                {"timestamp": self._stamp(r, "ts", seq), "sampledValue": [_sv(v, r["x"]) for v in r["v"]]}]}
            return p
        p = {"transactionId": txid, "meterStop": r["m"], "timestamp": self._stamp(r, "ts", seq), "reason": r["r"]}
        if r.get("t") and r["r"] == "Local":  # who stopped it: the card that started it (station.tap)
            p["idTag"] = r["t"][:20]
        if self.cp.o["stop_sampled"] or self.cp.o["stop_aligned"]:
            p["transactionData"] = [
                {"timestamp": self._stamp(r, "tb"), "sampledValue": [_sv(["Energy.Active.Import.Register", str(r["mb"])],
                                                                         "Transaction.Begin")]},
                {"timestamp": p["timestamp"], "sampledValue": [_sv(["Energy.Active.Import.Register", str(r["m"])],
                                                                   "Transaction.End")]}]
        return p

    async def send_head(self):
        """Send the oldest queued message; False when there was nothing due."""
        h = self.q.head()
        if h is None or self.due():
            return False
        seq, kind, sid = h
        r = self.q.record(seq)
        action = {KS: "StartTransaction", KM: "MeterValues", KX: "StopTransaction"}[kind]
        mid = self.q.msgid(seq)
        if self.timeouts:
            self.retransmits += 1  # the same id again (a permitted retransmission)
        timeout = self.cp.rpc.timeout_ms << min(self.timeouts, 3)
        try:
            res = await self.cp.rpc.call(action, self.payload(kind, r, seq), mid, timeout)
        except rpc.Timeout:
            self.timeouts += 1
            self.wait_until = time.ticks_add(time.ticks_ms(), _TIMEOUT_RETRY_MS)
            await self.cp.check_alive()
            return True
        except (rpc.CallError, rpc.BadAnswer) as e:
            self.timeouts = 0
            self._failed(seq, action, e)
            return True
        if self.q.head() is None or self.q.head()[0] != seq:
            return True  # its late answer came first (late())
        self.wait_until = None
        self.timeouts = 0
        self.sent += 1
        self._answered(seq, kind, sid, r, res)
        return True

    def late(self, mid, res):
        """rpc: a CALLRESULT for no outstanding call; True when it answers the queue's head
        (sent earlier with the same id, timed out, waiting to go again)."""
        h = self.q.head()
        if h is None or self.q.msgid(h[0]) != mid:
            return False
        seq, kind, sid = h
        try:
            from firmware.proto.ocpp import validate

            validate.response(ACTIONS[kind], res)
        except validate.Invalid:
            return False
        r = self.q.record(seq)
        self.lates += 1
        self.wait_until = None
        self.timeouts = 0
        self.sent += 1
        self._answered(seq, kind, sid, r, res)
        self.cp.wake.set()
        return True

    def _failed(self, seq, action, e):
        n = self.q.failed(seq)
        attempts = max(1, self.cp.o["tx_attempts"])
        _log.warn("%s (seq %d) failed %d/%d: %r", action, seq, n, attempts, e)
        if n >= attempts:
            self.q.discard(seq, "%d failures, last %r" % (n, e))
            self.wait_until = None
        else:  # errata: wait RetryInterval x transmissions so far
            self.wait_until = time.ticks_add(time.ticks_ms(), self.cp.o["tx_retry_s"] * 1000 * n)

    def _answered(self, seq, kind, sid, r, res):
        info = res.get("idTagInfo")
        if info is not None:
            self.cp.auth.remember(r.get("t"), info)
        if kind == KS:
            self.q.set_txid(sid, res["transactionId"])
            self.q.done(seq)
            if info is not None and info.get("status") != "Accepted":
                self._invalid(sid, r, info["status"])
        elif kind == KX:
            self.cp.station.ack_bill(sid)  # first: a cut before done() only resends the Stop
            self.q.done(seq)
            self.ended.append(sid)
            if len(self.ended) > 8:
                self.ended.pop(0)
        else:
            self.q.done(seq)

    def _invalid(self, sid, r, status):
        """StartTransaction answered with an idTag not Accepted (errata 3.17)."""
        port = r["c"]
        s = self.cur.get(port)
        if s is None or s[0] != sid:
            return  # the session is over already
        _log.warn("session %d: idTag %s at the CSMS: %s", sid, status,
                  "stopping (StopTransactionOnInvalidId)" if self.cp.o["stop_on_invalid"] else "suspending")
        st = self.cp.station
        try:
            if self.cp.o["stop_on_invalid"]:
                st.stop(port, "DeAuthorized", "deauthorized")
            else:
                st.set_limit(port, 0)  # no energy; the transaction stays open
                self.limited.add(port)
        except Exception as e:  # noqa: BLE001  stopped meanwhile
            _log.warn("session %d: %r", sid, e)

    def port_of(self, txid):
        """The port whose running session is OCPP transaction txid (RemoteStop), or None."""
        for port, s in self.cur.items():
            if s[0] in self.q.tx and self.q.txid_of(s[0]) == txid:
                return port
        return None

