"""StatusNotification: every connector's status as the CSMS should know it (OCPP 1.6 4.9).

The pile publishes each port's transitions on the bus (port.status: OCPP ChargePointStatus
and ChargePointErrorCode already). Per connector this keeps the newest status and the one
the CSMS confirmed; what differs is sent when online, newest first per connector, with the
time it changed. So a status flapping while offline costs one message, never a growing
queue, and the CSMS always ends up with the truth. Connector 0 is the pile: Unavailable
when every port is, Faulted when every port is, else Available (errata 3.22). After each
accepted boot all are sent. A Finishing after a session that never became an OCPP
transaction (no load: no StartTransaction) is not reported: the Available after it is.
"""
import time

from firmware.proto.ocpp import dt


class Status:
    def __init__(self, cp, n):
        self.cp = cp
        self.n = n
        self.cur = [None] * (n + 1)  # [status, error, info, unix] per connector
        self.sent = [None] * (n + 1)  # (status, error) the CSMS confirmed
        self.dirty = []  # connectors to send, in order
        self.cur[0] = ["Available", "NoError", None, None]

    def _unix(self, ev):
        if ev is not None and ev.unix is not None:
            return ev.unix
        now = self.cp.station.bus.now()
        if now is None or ev is None:
            return now
        return now - time.ticks_diff(time.ticks_ms(), ev.ms) // 1000

    def _set(self, c, st, err, info, unix):
        self.cur[c] = [st, err, info, unix]
        if self.sent[c] != (st, err):
            if c not in self.dirty:
                self.dirty.append(c)
                self.dirty.sort()
            self.cp.wake.set()
        elif c in self.dirty:
            self.dirty.remove(c)

    def on_port(self, ev):
        d = ev.data
        c = d.get("port")
        if type(c) is not int or not 1 <= c <= self.n:
            return
        st = d.get("status")
        if st == "Finishing" and not self.cp.tx.is_tx(c):
            return  # the session never became a transaction: Available follows
        self._set(c, st, d.get("error") or "NoError", d.get("cause"), self._unix(ev))
        self._pile(self._unix(ev))

    def _pile(self, unix):
        sts = [self.cur[c][0] for c in range(1, self.n + 1) if self.cur[c] is not None]
        st, err = "Available", "NoError"
        if sts and len(sts) == self.n:
            if all(s == "Unavailable" for s in sts):
                st = "Unavailable"
            elif all(s == "Faulted" for s in sts):
                st, err = "Faulted", self.cur[1][1]
        if self.cur[0][0] != st or self.cur[0][1] != err:
            self._set(0, st, err, None, unix)

    def all_dirty(self):
        """After an accepted boot: every connector again, as the pile says it is now."""
        now = self.cp.station.bus.now()
        for c in range(1, self.n + 1):
            try:
                info = self.cp.station.port(c)
            except Exception:  # noqa: BLE001  no pile: the ports stay as last heard
                continue
            cur = self.cur[c]
            if cur is None or cur[0] != info["status"]:
                self.cur[c] = [info["status"], info.get("error") or "NoError", None, now]
        self._pile(now)
        self.sent = [None] * (self.n + 1)
        self.dirty = list(range(self.n + 1))
        self.cp.wake.set()

    def next(self):
        """(connector, payload) of the next StatusNotification to send, or None."""
        while self.dirty:
            c = self.dirty[0]
            cur = self.cur[c]
            if cur is None:
                self.dirty.pop(0)
                continue
            p = {"connectorId": c, "errorCode": cur[1], "status": cur[0]}
            unix = cur[3] if cur[3] is not None else self.cp.station.bus.now()
            if unix is not None:
                p["timestamp"] = dt.iso(unix)
            if cur[2]:
                p["info"] = str(cur[2])[:50]
            return c, p
        return None

    def delivered(self, c, payload):
        self.sent[c] = (payload["status"], payload["errorCode"])
        cur = self.cur[c]
        if c in self.dirty and (cur[0], cur[1]) == self.sent[c]:
            self.dirty.remove(c)
