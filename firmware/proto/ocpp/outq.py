"""The guaranteed queue of the whitepaper's notifications: SignedFirmwareStatusNotification
and the critical SecurityEventNotifications (whitepaper A04: "queued and guaranteed" like
transaction messages), on flash before they are sent and kept until answered.

One CRC journal (lib/journal.py), one text record per fact:
  N<seq> <Action> {json}   a message to send (SecurityEventNotification without a timestamp
                           is dated when it first goes: the clock may be unknown at boot)
  A<seq>                   answered, or given up after _ATTEMPTS CALLERRORs (logged)
Messages go in order, one at a time, after the transaction queue's head (cp.py); a timeout
or a lost connection sends the same message again, with the same id within a boot. The
queue holds at most _MAX messages (the oldest is dropped with a warning: a CSMS unreachable
for weeks must not fill the flash); RAM holds the live records' seqs only.
"""
import json
import time

import journal
import log
from micropython import const

from firmware.proto.ocpp import rpc

_log = log.get("ocpp")
_MAX = const(40)
_ATTEMPTS = const(3)
_SLACK = const(4096)
_SEP = (",", ":")


class OutQueue:
    def __init__(self, cp, path):
        self.cp = cp
        self.j = journal.Journal(path, 1024)
        self.live = []  # seqs, ascending
        self.next_seq = 1
        self.sent = 0
        self.dropped = 0
        self._mid = None  # (seq, message id, payload) of the head while it is being retried
        self._fails = 0
        self._wait = None  # ticks before which the head is not sent again
        self._load()
        if self.j.size() > _SLACK + 160 * len(self.live):
            self.compact()

    def _load(self):
        top = 0
        for raw in self.j.records():
            c = raw[0]
            if c == 78:  # N
                seq = int(raw[1:raw.find(b" ")])
                self.live.append(seq)
                top = max(top, seq)
            elif c == 65:  # A
                seq = int(raw[1:])
                if seq in self.live:
                    self.live.remove(seq)
        self.next_seq = top + 1

    def add(self, action, payload):
        """Queue a message (durable when this returns)."""
        if len(self.live) >= _MAX:
            old = self.live[0]
            _log.warn("notification queue full: dropping the oldest (%d)", old)
            self._done(old)
            self.dropped += 1
        seq = self.next_seq
        self.next_seq += 1
        self.j.append("N%d %s %s" % (seq, action, json.dumps(payload, separators=_SEP)))
        self.live.append(seq)
        self.cp.wake.set()
        return seq

    def pending(self):
        return len(self.live)

    def _record(self, seq):
        key = b"N%d " % seq
        for raw in self.j.records():
            if raw.startswith(key):
                sp = raw.find(b" ", len(key))
                return raw[len(key):sp].decode(), json.loads(raw[sp + 1:])
        return None, None

    def _done(self, seq):
        self.j.append("A%d" % seq)
        if seq in self.live:
            self.live.remove(seq)
        if self._mid is not None and self._mid[0] == seq:
            self._mid = None
        self._fails = 0
        self._wait = None
        if not self.live and self.j.size() > _SLACK:
            self.compact()

    def due(self):
        """ms until the head may go again (None: now or nothing queued)."""
        if not self.live or self._wait is None:
            return None
        return max(0, time.ticks_diff(self._wait, time.ticks_ms()))

    async def send_head(self):
        """Send the oldest queued message; False when there was nothing due."""
        if not self.live or self.due():
            return False
        seq = self.live[0]
        if self._mid is None or self._mid[0] != seq:
            action, payload = self._record(seq)
            if action is None:  # lost from the file (a damaged journal): nothing to send
                self._done(seq)
                return True
            if action == "SecurityEventNotification" and payload.get("timestamp") is None:
                from firmware.proto.ocpp import dt

                now = self.cp.station.bus.now()
                if now is None:  # the clock is unknown: wait for it (a boot answer sets it)
                    self._wait = time.ticks_add(time.ticks_ms(), 2000)
                    return False
                payload["timestamp"] = dt.iso(now)
            self._mid = (seq, self.cp.ids.next(), action, payload)
        _, mid, action, payload = self._mid
        try:
            await self.cp.rpc.call(action, payload, mid)
        except rpc.Timeout:  # the same message, same id, a little later
            self._wait = time.ticks_add(time.ticks_ms(), 5000)
            await self.cp.check_alive()
            return True
        except (rpc.CallError, rpc.BadAnswer) as e:
            self._fails += 1
            _log.warn("%s (N%d) failed %d/%d: %r", action, seq, self._fails, _ATTEMPTS, e)
            if self._fails >= _ATTEMPTS:
                self._done(seq)
            else:
                self._mid = (seq, self.cp.ids.next(), action, payload)  # a new id after an error
                self._wait = time.ticks_add(time.ticks_ms(), 5000 * self._fails)
            return True
        self.sent += 1
        self._done(seq)
        return True

    def compact(self):
        live = set(self.live)

        def keep(raw):
            return raw[0] == 78 and int(raw[1:raw.find(b" ")]) in live

        self.j.compact(keep)  # message ids come from cp.ids: seqs may start again at 1
