"""OCPP-J RPC on one WebSocket at a time (OCPP-J 1.6 section 4, its 2025 errata, docs/ocpp.md).

- Framing: CALL [2,id,action,{}], CALLRESULT [3,id,{}], CALLERROR [4,id,code,text,{}].
- One own CALL outstanding: call() holds a lock until its answer, a CALLERROR, the timeout
  or the loss of the connection. The peer's CALLs are answered meanwhile by serve(), the
  one reader, which also matches answers to the outstanding CALL; an answer to any other
  id (a late one after a timeout, a CSMS's "-1") is counted, logged and dropped.
- Incoming CALLs: an action OCPP 1.6 does not have -> NotImplemented; one it has that the
  pile does not implement -> NotSupported (the `ocpp` package swaps these two); a payload
  that breaks the official schema -> the code validate.py names; a handler that raises
  CallError -> its code; any other exception -> InternalError (logged with traceback).
  Nothing a CSMS sends can crash the reader: bad JSON or a frame that is not an OCPP
  message is dropped (a CALLERROR FormationViolation when it carries a usable id).
- Security events (whitepaper section 8, through `on_security`): a frame that is not a valid
  OCPP message (not text, not JSON, not an OCPP array, a bad id, a CALL breaking its schema)
  is InvalidMessages; a CALL whose id repeats one of the last _SEEN ids of this connection is
  not run again (CALLERROR SecurityError) and is AttemptedReplayAttacks [OCPP-J 4.1.4: ids
  are unique per sender and connection]. Each kind once per connection, so a flood cannot
  push older events out of the bounded security log nor wear the flash.
- Handlers run in the reader task, so they never await a CALL of ours (it would wait for
  an answer only this task can read); they return (result, after) where `after` is a
  coroutine function started once the CALLRESULT is on its way (a reset, a start).
- Message ids come from the caller (Ids in ids.py: unique across reconnects and reboots).
"""
import asyncio
import json

from micropython import const

import log
from firmware.proto.ocpp import validate

_log = log.get("ocpp")
_ID_MAX = const(36)
_HANDOVER = const(1000)  # ms the reader waits for the caller to take its answer
_SEP = (",", ":")
_SEEN = const(8)  # CALL ids of this connection remembered against replays
_INVALID = const(1)  # flags: the security events already raised on this connection
_REPLAY = const(2)


class CallError(Exception):
    """args: (code, description). From a CALLERROR answer, or raised by a handler."""

    @property
    def code(self):
        return self.args[0]


class Timeout(Exception):
    """No answer within the call timeout."""


class Offline(Exception):
    """No connection, or it was lost before the answer came."""


class BadAnswer(Exception):
    """A CALLRESULT whose payload breaks the schema: args (code, where)."""


class Rpc:
    def __init__(self, handlers, timeout_ms=30000):
        self.handlers = handlers  # action -> fn(payload) -> result | (result, after) | awaitable of either
        self.timeout_ms = timeout_ms
        self.ws = None
        self.answering = True  # False while the CSMS rejected the boot: its CALLs go unanswered
        self._lock = asyncio.Lock()
        self._wait = None  # [id, Event, result, error] of the outstanding CALL
        self.tx_bytes = 0  # bytes sent and received, WebSocket frame headers included
        self.rx_bytes = 0
        self.count = None  # fn(tx, rx): the data budget (station.data_used)
        self.dropped = 0  # frames that were not OCPP, answers to no outstanding id
        self.on_call = None  # fn(action) when a CSMS CALL arrives (boot.py: Pending may answer)
        self.on_late = None  # fn(id, payload) -> True when a late CALLRESULT was still wanted (tx.py)
        self.on_oom = None  # fn(what): a handler ran out of heap (cp.py: the MemoryExhaustion event)
        self.on_security = None  # fn(kind, techInfo): a security event (cp.py: the security log)
        self._seen = []  # the last _SEEN CALL ids on this connection
        self._flags = 0  # _INVALID | _REPLAY raised on this connection
        self._after = []  # tasks started after a CALLRESULT (kept so none runs unwatched)

    # ---- our CALLs
    async def call(self, action, payload, msgid, timeout_ms=None):
        """Send a CALL and return the CALLRESULT payload (validated against the schema).
        Raises CallError (a CALLERROR), BadAnswer, Timeout or Offline."""
        async with self._lock:
            ws = self.ws
            if ws is None:
                raise Offline()
            w = self._wait = [msgid, asyncio.Event(), None, None]
            try:
                await self._send(ws, [2, msgid, action, payload])
                try:
                    await asyncio.wait_for_ms(w[1].wait(), timeout_ms or self.timeout_ms)
                except asyncio.TimeoutError:
                    raise Timeout()
            finally:
                self._wait = None
        if w[3] is not None:
            raise w[3]
        try:
            validate.response(action, w[2])
        except validate.Invalid as e:
            raise BadAnswer(e.args[0], e.args[1])
        return w[2]

    def busy(self):
        return self._wait is not None

    async def _send(self, ws, msg):
        data = json.dumps(msg, separators=_SEP)
        n = len(data) + _hdr(len(data)) + 4  # a client frame is masked: 4 key bytes
        self.tx_bytes += n
        if self.count is not None:
            self.count(n, 0)
        try:
            await ws.send(data)
        except Exception as e:  # noqa: BLE001  ConnectionClosed, OSError: the connection is gone
            raise Offline(repr(e))

    # ---- the reader
    async def serve(self, ws):
        """Read `ws` until it closes; answers the CSMS's CALLs, matches answers to ours."""
        from wsframe import ConnectionClosed

        self.ws = ws
        self._seen = []
        self._flags = 0
        try:
            while True:
                try:
                    raw = await ws.recv()
                except ConnectionClosed as e:
                    _log.info("connection closed: %s %s", e.args[0] if e.args else "-", e.args[1] if len(e.args) > 1 else "")
                    return
                await self._message(ws, raw)
        finally:
            self.ws = None
            w = self._wait
            if w is not None and w[3] is None and not w[1].is_set():
                w[3] = Offline("connection lost")
                w[1].set()

    async def _message(self, ws, raw):
        if not isinstance(raw, str):
            self._invalid("binary frame of %d bytes" % len(raw))
            return
        n = len(raw) + _hdr(len(raw))
        self.rx_bytes += n
        if self.count is not None:
            self.count(0, n)
        try:
            msg = json.loads(raw)
        except ValueError:
            self._invalid("not JSON: " + raw[:40])
            return
        if not isinstance(msg, list) or len(msg) < 3 or type(msg[0]) is not int:
            self._invalid("not an OCPP message: " + raw[:40])
            return
        typ, mid = msg[0], msg[1]
        if typ == 2:
            if type(mid) is not str or not mid or len(mid) > _ID_MAX:
                self._invalid("CALL with a bad message id")
                return
            if len(msg) != 4 or type(msg[2]) is not str:
                self._event(_INVALID, "InvalidMessages", "CALL %s is not [2, id, action, payload]" % mid)
                await self._error(ws, mid, validate.FORMATION, "a CALL is [2, id, action, payload]")
                return
            if mid in self._seen:
                self._event(_REPLAY, "AttemptedReplayAttacks", "%s %s repeats a message id of this connection" % (msg[2][:40], mid))
                await self._error(ws, mid, "SecurityError", "message id already used on this connection")
                return
            self._seen.append(mid)
            if len(self._seen) > _SEEN:
                self._seen.pop(0)
            await self._incoming(ws, mid, msg[2], msg[3])
        elif typ == 3 or typ == 4:
            w = self._wait
            if w is None or mid != w[0] or w[1].is_set():
                # a transaction message keeps its id until answered: its answer after a
                # timeout is still its answer (tx.py takes it); anything else is dropped
                if not (typ == 3 and self.on_late is not None and self.on_late(mid, msg[2])):
                    self._drop("answer to %r, not to an outstanding call" % (mid,))
                return
            if typ == 3:
                w[2] = msg[2]
            else:
                w[3] = CallError(msg[2] if type(msg[2]) is str else "GenericError",
                                 msg[3] if len(msg) > 3 and type(msg[3]) is str else "")
            w[1].set()
            # the caller takes its answer before the next frame is read: a CSMS's CALL right
            # after its answer (RemoteStop after StartTransaction.conf) sees what the answer
            # set (the transactionId)
            for _ in range(_HANDOVER):
                if self._wait is not w:
                    break
                await asyncio.sleep_ms(1)
        else:
            self._drop("message type %r" % typ)  # OCPP-J 4.1.3: ignore unknown types

    def _drop(self, why):
        self.dropped += 1
        _log.warn("dropped: %s", why)

    def _invalid(self, why):
        self._drop(why)
        self._event(_INVALID, "InvalidMessages", why)

    def _event(self, flag, kind, tech):
        """A security event, the first of its kind on this connection."""
        if self._flags & flag or self.on_security is None:
            return
        self._flags |= flag
        self.on_security(kind, tech)

    async def _error(self, ws, mid, code, text):
        await self._send(ws, [4, mid, code, text[:80], {}])

    async def _incoming(self, ws, mid, action, payload):
        if self.on_call is not None:
            self.on_call(action)
        if not self.answering:
            _log.warn("%s not answered: boot notification rejected", action)
            return
        if not validate.known(action):
            await self._error(ws, mid, "NotImplemented", "unknown action " + action[:40])
            return
        fn = self.handlers.get(action)
        if fn is None:
            await self._error(ws, mid, "NotSupported", action + " is not supported by this charge point")
            return
        try:
            validate.request(action, payload)
        except validate.Invalid as e:
            self._event(_INVALID, "InvalidMessages", "%s %s: %s %s" % (action, mid, e.args[0], e.args[1]))
            await self._error(ws, mid, e.args[0], e.args[1])
            return
        after = None
        try:
            r = fn(payload)
            if r is not None and hasattr(r, "send"):
                r = await r
            if isinstance(r, tuple):
                r, after = r
        except CallError as e:
            await self._error(ws, mid, e.args[0], e.args[1] if len(e.args) > 1 else "")
            return
        except Exception as e:  # a bug behind one action must never reach the CSMS as a crash
            _log.exc("handler %s failed" % action, e)
            if isinstance(e, MemoryError) and self.on_oom is not None:
                self.on_oom(action)
            await self._error(ws, mid, "InternalError", "%s failed" % action)
            return
        try:
            await self._send(ws, [3, mid, r])
        finally:
            if after is not None:
                self._after = [t for t in self._after if not t.done()]
                self._after.append(asyncio.create_task(_run_after(action, after)))


def _hdr(n):
    """WebSocket frame header bytes for a payload of n bytes (RFC 6455 5.2)."""
    return 2 if n < 126 else 4 if n < 65536 else 10


async def _run_after(action, fn):
    try:
        await fn()
    except Exception as e:  # logged with its traceback; the connection goes on
        _log.exc("after %s failed" % action, e)
