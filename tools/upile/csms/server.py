"""The bench CSMS: the `ocpp` package (2.1.0, v16) on a `websockets` server, in a thread of
its own, with what tests and field engineers need (docs/ocpp.md "upile csms").

    with Csms() as c:                       # ws://127.0.0.1:<c.port>/ocpp/<id>
        c.url                               # the endpoint a pile's ocpp.url takes
        pile = c.wait_pile("CP1")           # connected, booted: pile.boot, pile.status, pile.tx
        c.start("CP1", 3, "app-1", "money", 100)    # DataTransfer budget + RemoteStartTransaction
        c.stop("CP1", txid); c.get_config("CP1"); c.set_config("CP1", key, value)
        c.call("CP1", "Reset", {"type": "Soft"})    # any CALL as a dict (valid or not)
        c.raw("CP1", '[2,"x","Reset",{"type":1}]')  # any frame at all
    TLS: Csms(ssl=pki.server_context(files)), pile.peer_cert (the client certificate of the
    live connection, DER), pile.peer_certs (each connection's), c.serve_cert(cert, key).
    faults: c.refuse = 404 | 401 | 503 (HTTP answer to new connections), c.drop("CP1"),
    c.restart(), pile.delay_s (answer slowly), pile.errors["StartTransaction"] = 2 (CALLERRORs),
    pile.drop_on = "StopTransaction" (close the socket instead of answering),
    pile.boot_plan = ["Rejected", "Pending", "Accepted"], c.tags["bad"] = ("Invalid", None).

Every frame in and out is kept per pile (pile.log). Transaction messages are deduplicated by
message id, as a CSMS must when a charge point retransmits after a timeout (OCPP-J errata
3.1): a StartTransaction seen again gets the same transactionId, a Stop or MeterValues seen
again changes nothing; each retransmission is counted, and an id reused for a different
payload is recorded as a violation. Handlers never await a call to the pile (the `ocpp`
package would deadlock until its timeout): calls go from the caller's thread or a task.
"""
import asyncio
import base64
import datetime
import itertools
import json
import re
import threading
import time
import urllib.parse
import uuid

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action

_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
_TX_ACTIONS = ("StartTransaction", "StopTransaction", "MeterValues")


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class CsmsCallError(Exception):
    """The pile answered a CALL with CALLERROR: args (code, description)."""


class Pile:
    """What the CSMS knows of one charge point, and how it treats it."""

    def __init__(self, cid):
        self.id = cid
        self.connected = False
        self.connections = 0
        self.auth_header = None  # the last HTTP Authorization header
        self.boot = None  # the last BootNotification payload
        self.boots = 0
        self.boot_plan = []  # statuses for the next boots ("Accepted" once empty)
        self.boot_interval = 300
        self.status = {}  # connector -> (status, errorCode, timestamp, info)
        self.statuses = []  # every StatusNotification payload
        self.tx = {}  # transactionId -> {"start": payload, "stop": payload, "values": [payloads]}
        self.orphan_stops = []  # StopTransactions with transactionId -1
        self.values = []  # MeterValues payloads outside transactions
        self.authorized = []  # idTags asked
        self.heartbeats = 0
        self.log = []  # (monotonic time, "in"|"out", frame text)
        self.ids = {}  # message id -> (action, payload) of the CALLs it sent
        self.retransmits = 0
        self.violations = []
        self.answers = {}  # message id -> answer payload (tx messages, for duplicates)
        self.delay_s = 0.0
        self.errors = {}  # action -> CALLERRORs still to answer
        self.drop_on = None  # action -> close the connection instead of answering
        self.cp = None  # the ocpp ChargePoint of the live connection
        self.ws = None
        self.fw_statuses = []  # SignedFirmwareStatusNotification payloads (whitepaper L01)
        self.security_events = []  # SecurityEventNotification payloads
        self.log_statuses = []  # LogStatusNotification payloads
        self.diag_statuses = []  # DiagnosticsStatusNotification payloads
        self.csrs = []  # the PEM CSRs of SignCertificate (a test or an operator signs them)
        self.peer_cert = None  # DER of the client certificate of the live connection (profile 3)
        self.peer_certs = []  # the client certificate (DER or None) of each connection, in order


class _Cp(ChargePoint):
    """The `ocpp` package's v16 CSMS side, one per connection."""

    def __init__(self, cid, ws, csms, pile):
        super().__init__(cid, ws, response_timeout=30)
        self.csms = csms
        self.pile = pile

    async def _send(self, message):
        self.pile.log.append((time.monotonic(), "out", message))
        await self._connection.send(message)

    async def route_message(self, raw_msg):
        p = self.pile
        p.log.append((time.monotonic(), "in", raw_msg))
        try:
            msg = json.loads(raw_msg)
        except ValueError:
            p.violations.append("not JSON: %r" % raw_msg[:80])
            return
        if isinstance(msg, list) and len(msg) == 4 and msg[0] == 2:
            mid, action, payload = msg[1], msg[2], msg[3]
            self._check(mid, action, payload)
            if p.delay_s:
                await asyncio.sleep(p.delay_s)
            if p.drop_on == action:
                p.drop_on = None
                self.csms._abort(p)
                return
            if p.errors.get(action):
                p.errors[action] -= 1
                await self._send(json.dumps([4, mid, "InternalError", "bench CSMS: failing on purpose", {}]))
                return
            if action in _TX_ACTIONS and mid in p.answers:
                p.retransmits += 1  # a permitted retransmission: the same answer, nothing new
                await self._send(json.dumps([3, mid, p.answers[mid]]))
                return
        await super().route_message(raw_msg)

    def _check(self, mid, action, payload):
        p = self.pile
        seen = p.ids.get(mid)
        if seen is not None and seen != (action, payload):
            p.violations.append("message id %s reused: %s %r then %s %r" % (mid, seen[0], seen[1], action, payload))
        p.ids[mid] = (action, payload)
        for key, val in _walk(payload):
            if key in ("timestamp", "currentTime", "expiryDate") and not _TS.match(str(val)):
                p.violations.append("%s %s: %r is not an RFC 3339 date-time" % (action, key, val))

    def _answer(self, mid, payload):
        self.pile.answers[mid] = payload

    @on(Action.boot_notification)
    def on_boot(self, call_unique_id, **kw):
        p = self.pile
        p.boot = _camel(kw)
        p.boots += 1
        st = p.boot_plan.pop(0) if p.boot_plan else "Accepted"
        return call_result.BootNotification(current_time=now_iso(), interval=p.boot_interval, status=st)

    @on(Action.heartbeat)
    def on_heartbeat(self, **kw):
        self.pile.heartbeats += 1
        return call_result.Heartbeat(current_time=now_iso())

    @on(Action.status_notification)
    def on_status(self, **kw):
        d = _camel(kw)
        self.pile.statuses.append(d)
        self.pile.status[d["connectorId"]] = (d["status"], d["errorCode"], d.get("timestamp"), d.get("info"))
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag, **kw):
        self.pile.authorized.append(id_tag)
        return call_result.Authorize(id_tag_info=self.csms.tag_info(id_tag))

    @on(Action.start_transaction)
    def on_start(self, call_unique_id, **kw):
        d = _camel(kw)
        txid = next(self.csms._txids)
        self.pile.tx[txid] = {"start": d, "stop": None, "values": [], "start_id": call_unique_id}
        r = {"transactionId": txid, "idTagInfo": self.csms.tag_info(d["idTag"])}
        self._answer(call_unique_id, r)
        return call_result.StartTransaction(transaction_id=txid, id_tag_info=r["idTagInfo"])

    @on(Action.stop_transaction)
    def on_stop(self, call_unique_id, **kw):
        d = _camel(kw)
        t = self.pile.tx.get(d["transactionId"])
        if t is None:
            self.pile.orphan_stops.append(d)
        elif t["stop"] is not None:
            self.pile.violations.append("transaction %d stopped twice" % d["transactionId"])
        else:
            t["stop"] = d
        r = {}
        if d.get("idTag"):
            r["idTagInfo"] = self.csms.tag_info(d["idTag"])
        self._answer(call_unique_id, r)
        return call_result.StopTransaction(id_tag_info=r.get("idTagInfo"))

    @on(Action.meter_values)
    def on_meter(self, call_unique_id, **kw):
        d = _camel(kw)
        t = self.pile.tx.get(d.get("transactionId"))
        (t["values"] if t is not None else self.pile.values).append(d)
        self._answer(call_unique_id, {})
        return call_result.MeterValues()

    @on(Action.data_transfer)
    def on_data(self, **kw):
        return call_result.DataTransfer(status="UnknownVendorId")

    @on(Action.signed_firmware_status_notification)
    def on_fw_status(self, **kw):
        self.pile.fw_statuses.append(_camel(kw))
        return call_result.SignedFirmwareStatusNotification()

    @on(Action.security_event_notification)
    def on_security_event(self, **kw):
        self.pile.security_events.append(_camel(kw))
        return call_result.SecurityEventNotification()

    @on(Action.diagnostics_status_notification)
    def on_diag_status(self, **kw):
        self.pile.diag_statuses.append(_camel(kw))
        return call_result.DiagnosticsStatusNotification()

    @on(Action.sign_certificate)
    def on_sign_certificate(self, csr, **kw):
        self.pile.csrs.append(csr)
        return call_result.SignCertificate(status="Accepted")

    @on(Action.log_status_notification)
    def on_log_status(self, **kw):
        self.pile.log_statuses.append(_camel(kw))
        return call_result.LogStatusNotification()

    @on(Action.firmware_status_notification)
    def on_firmware_status(self, **kw):  # e.g. after TriggerMessage (OCPP part 3)
        return call_result.FirmwareStatusNotification()


def _camel(kw):
    from ocpp.charge_point import snake_to_camel_case

    return snake_to_camel_case(kw)


def _walk(d):
    if isinstance(d, dict):
        for k, v in d.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(d, list):
        for v in d:
            yield from _walk(v)


class Csms:
    def __init__(self, port=0, host="127.0.0.1", ssl=None, path="/ocpp", passwords=None, known=None,
                 subprotocols=("ocpp1.6",)):
        self.host = host
        self.port = port
        self.ssl = ssl
        self.path = path
        self.passwords = passwords  # {id: password bytes}: demand HTTP Basic (security profiles 1, 2)
        self.known = known  # ids it knows (404 for others); None: any
        self.subprotocols = subprotocols
        self.refuse = None  # an HTTP status for every new connection (404, 401, 503...)
        self.tags = {}  # idTag -> (status, parentIdTag); others Accepted
        self.piles = {}
        self.requests = []  # (path, headers) of every opening handshake
        self._txids = itertools.count(1)
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.server = None

    # ---- life
    def __enter__(self):
        return self.start_server()

    def __exit__(self, *exc):
        self.close()

    def start_server(self):
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("bench CSMS did not start")
        return self

    @property
    def url(self):
        return "%s://%s:%d%s" % ("wss" if self.ssl else "ws", self.host, self.port, self.path)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._listen())
        self._ready.set()
        self.loop.run_forever()

    async def _listen(self):
        from websockets.asyncio.server import serve

        self.server = await serve(self._handler, self.host, self.port, ssl=self.ssl, compression=None,
                                  subprotocols=list(self.subprotocols) if self.subprotocols else None,
                                  process_request=self._request, ping_interval=None, max_size=65536)
        self.port = self.server.sockets[0].getsockname()[1]

    def _do(self, coro, timeout=40):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self):
        if self.server is not None:
            try:
                self._do(self._close())
            except RuntimeError:
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(20)
            self.server = None

    async def _close(self):
        self.server.close()
        await self.server.wait_closed()

    def restart(self, down_s=0.5):
        """The CSMS goes away (every connection dropped, the port closed) and comes back."""
        self._do(self._close())
        time.sleep(down_s)
        self._do(self._listen())

    def serve_cert(self, cert, key):
        """Present another server certificate (PEM files) from the next TLS handshake on: a
        CSMS that moved to a certificate of another root. Connections already open keep theirs."""
        self._do(self._serve_cert(str(cert), str(key)))

    async def _serve_cert(self, cert, key):
        self.ssl.load_cert_chain(cert, key)

    def drop(self, cid):
        """Drop one pile's connection without a close handshake (a NAT or a crash)."""
        self.loop.call_soon_threadsafe(self._abort, self.piles[cid])

    def _abort(self, pile):
        ws = pile.ws
        if ws is not None and ws.transport is not None:
            ws.transport.abort()

    # ---- connections
    def pile(self, cid):
        p = self.piles.get(cid)
        if p is None:
            p = self.piles[cid] = Pile(cid)
        return p

    def _request(self, conn, request):
        self.requests.append((request.path, dict(request.headers.raw_items())))
        cid = urllib.parse.unquote(request.path.rsplit("/", 1)[-1])
        if not request.path.startswith(self.path + "/") or not cid:
            return conn.respond(404, "no such endpoint\n")
        if self.refuse:
            return conn.respond(self.refuse, "refused by the bench\n")
        if self.known is not None and cid not in self.known:
            return conn.respond(404, "unknown charge point\n")
        self.pile(cid).auth_header = request.headers.get("Authorization")
        if self.passwords is not None:
            pw = self.passwords.get(cid)
            want = "Basic " + base64.b64encode(cid.encode() + b":" + (pw or b"")).decode()
            if pw is None or request.headers.get("Authorization") != want:
                r = conn.respond(401, "unauthorized\n")
                r.headers["WWW-Authenticate"] = 'Basic realm="ocpp"'
                return r
        return None

    async def _handler(self, ws):
        cid = urllib.parse.unquote(ws.request.path.rsplit("/", 1)[-1])
        p = self.pile(cid)
        if p.ws is not None and p.ws.transport is not None:
            p.ws.transport.abort()  # the pile reconnected: the old connection is dead
        cp = _Cp(cid, ws, self, p)
        tls = ws.transport.get_extra_info("ssl_object") if ws.transport is not None else None
        p.peer_cert = tls.getpeercert(binary_form=True) if tls is not None else None
        p.peer_certs.append(p.peer_cert)
        p.cp, p.ws = cp, ws
        p.connected = True
        p.connections += 1
        try:
            await cp.start()
        except Exception:  # noqa: BLE001  websockets' ConnectionClosed* and the like
            pass
        finally:
            if p.ws is ws:
                p.connected = False
                p.cp = p.ws = None

    # ---- answers
    def tag_info(self, tag):
        st, parent = self.tags.get(tag, ("Accepted", None))
        d = {"status": st}
        if parent:
            d["parentIdTag"] = parent
        return d

    # ---- calls to a pile (from any thread but the CSMS's own)
    def call(self, cid, action, payload, timeout=30):
        """Send a CALL (any payload, valid or not) and return the CALLRESULT payload; raises
        CsmsCallError for a CALLERROR, TimeoutError when the pile does not answer."""
        return self._do(self._call(cid, action, payload, timeout), timeout + 10)

    async def _call(self, cid, action, payload, timeout):
        from ocpp.messages import Call

        p = self.piles.get(cid)
        cp = p.cp if p is not None else None
        if cp is None:
            raise ConnectionError("%s is not connected" % cid)
        c = Call(unique_id=str(uuid.uuid4()), action=action, payload=payload)
        async with cp._call_lock:
            await cp._send(c.to_json())
            try:
                r = await cp._get_specific_response(c.unique_id, timeout)
            except asyncio.TimeoutError:
                raise TimeoutError("%s did not answer %s within %d s" % (cid, action, timeout))
        if r.message_type_id == 4:
            raise CsmsCallError(r.error_code, r.error_description)
        return r.payload

    def raw(self, cid, text):
        """Send any frame; the answer (if any) shows in pile.log."""
        async def send():
            await self.piles[cid].cp._send(text)
        self._do(send())

    def start(self, cid, connector, id_tag, kind="full", amount=0, ref=None, timeout=30):
        """A remote start with an e-bike budget: DataTransfer Budget, then RemoteStartTransaction.
        Returns the RemoteStart answer's status."""
        if kind != "full" or amount:
            d = {"connectorId": connector, "idTag": id_tag, "kind": kind, "amount": amount}
            if ref:
                d["ref"] = ref
            r = self.call(cid, "DataTransfer", {"vendorId": "com.upile", "messageId": "Budget",
                                                "data": json.dumps(d)}, timeout)
            if r.get("status") != "Accepted":
                return "Budget " + r.get("status", "?") + " " + r.get("data", "")
        r = self.call(cid, "RemoteStartTransaction", {"connectorId": connector, "idTag": id_tag}, timeout)
        return r["status"]

    def stop(self, cid, txid, timeout=30):
        return self.call(cid, "RemoteStopTransaction", {"transactionId": txid}, timeout)["status"]

    def get_config(self, cid, keys=None, timeout=30):
        r = self.call(cid, "GetConfiguration", {"key": list(keys)} if keys else {}, timeout)
        return {k["key"]: k.get("value") for k in r.get("configurationKey", [])}, r.get("unknownKey", [])

    def set_config(self, cid, key, value, timeout=30):
        return self.call(cid, "ChangeConfiguration", {"key": key, "value": value}, timeout)["status"]

    # ---- waiting (tests)
    def wait(self, pred, timeout=30, what="condition"):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r = pred()
            if r:
                return r
            time.sleep(0.02)
        raise AssertionError("bench CSMS: no %s within %.0f s" % (what, timeout))

    def wait_pile(self, cid, timeout=30, boots=1):
        """The pile once connected and `boots` BootNotifications in."""
        return self.wait(lambda: self.piles.get(cid) if cid in self.piles and self.piles[cid].connected
                         and self.piles[cid].boots >= boots else None, timeout, "pile %s booted" % cid)

    def mark(self, cid):
        """A position in the pile's frame log (calls(..., since=mark) looks after it)."""
        return len(self.pile(cid).log)

    def calls(self, cid, action=None, since=0):
        """The CALLs (of `action`) the pile sent after log position `since`:
        [(message id, payload)], or [(message id, action, payload)] for every action."""
        out = []
        for _, d, text in list(self.pile(cid).log)[since:]:
            if d == "in":
                try:
                    m = json.loads(text)
                except ValueError:
                    continue
                if isinstance(m, list) and len(m) == 4 and m[0] == 2:
                    if action is None:
                        out.append((m[1], m[2], m[3]))
                    elif m[2] == action:
                        out.append((m[1], m[3]))
        return out

    def answer_to(self, cid, mid):
        """The pile's answer (the decoded frame) to a CALL of ours with message id mid, or None."""
        for _, d, text in list(self.pile(cid).log):
            if d == "in":
                try:
                    m = json.loads(text)
                except ValueError:
                    continue
                if isinstance(m, list) and len(m) >= 3 and m[0] in (3, 4) and m[1] == mid:
                    return m
        return None

    def transactions(self, cid):
        return dict(self.pile(cid).tx)
