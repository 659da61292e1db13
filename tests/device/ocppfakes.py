# Fakes for the OCPP device tests: a WebSocket whose peer is the test (a scripted CSMS).
import asyncio
import json

from wsframe import ConnectionClosed


class FakeWs:
    """What the charge point sends lands in `out` (decoded); feed() plays the CSMS."""

    def __init__(self):
        self.out = []
        self.inbox = []
        self.ev = asyncio.Event()
        self.closed = False
        self.pings = 0
        self.pong = True
        self.code = None

    def feed(self, msg):
        self.inbox.append(msg if isinstance(msg, (str, bytes)) else json.dumps(msg))
        self.ev.set()

    async def recv(self):
        while True:
            if self.closed:
                raise ConnectionClosed(1006, "gone")
            if self.inbox:
                return self.inbox.pop(0)
            self.ev.clear()
            await self.ev.wait()

    async def send(self, data):
        if self.closed:
            raise ConnectionClosed(1006, "gone")
        self.out.append(json.loads(data))

    async def ping(self, timeout=None):
        self.pings += 1
        return self.pong

    def abort(self):
        self.closed = True
        self.ev.set()

    async def close(self, code=1000, reason=""):
        self.code = code
        self.abort()

    async def wait_out(self, n, ms=2000):
        """Wait until `n` messages went out (yielding to the tasks under test)."""
        for _ in range(ms // 5):
            if len(self.out) >= n:
                return self.out[n - 1]
            await asyncio.sleep_ms(5)
        raise AssertionError("only %d messages out, waited for %d: %r" % (len(self.out), n, self.out))

    def calls(self, action=None):
        return [m for m in self.out if m[0] == 2 and (action is None or m[2] == action)]


class AutoCsms:
    """Answers every CALL the charge point sends on a FakeWs, like a friendly CSMS; tests
    change `boot`, `errors` (action -> CALLERRORs to give), `silent` (actions left
    unanswered), `tags` (idTag -> idTagInfo). `calls` keeps (id, action, payload) in order."""

    def __init__(self, ws, now="2025-06-01T08:00:00Z"):
        self.ws = ws
        self.now = now
        self.boot = ["Accepted"]
        self.interval = 300
        self.errors = {}
        self.silent = set()
        self.tags = {}
        self.calls = []
        self.txid = 100
        self.seen = 0
        self.ids = {}
        self.task = asyncio.create_task(self._run())

    async def _run(self):
        while True:
            while self.seen < len(self.ws.out):
                m = self.ws.out[self.seen]
                self.seen += 1
                if m[0] == 2:
                    self.calls.append((m[1], m[2], m[3]))
                    self._answer(m[1], m[2], m[3])
            await asyncio.sleep_ms(2)

    def _answer(self, mid, action, p):
        if action in self.silent:
            return
        if self.errors.get(action):
            self.errors[action] -= 1
            self.ws.feed([4, mid, "InternalError", "on purpose", {}])
            return
        info = self.tags.get(p.get("idTag"), {"status": "Accepted"})
        if action == "BootNotification":
            st = self.boot.pop(0) if len(self.boot) > 1 else self.boot[0]
            r = {"status": st, "currentTime": self.now, "interval": self.interval}
        elif action == "Heartbeat":
            r = {"currentTime": self.now}
        elif action == "Authorize":
            r = {"idTagInfo": info}
        elif action == "StartTransaction":
            if mid in self.ids:
                r = self.ids[mid]
            else:
                self.txid += 1
                r = self.ids[mid] = {"transactionId": self.txid, "idTagInfo": info}
        elif action == "StopTransaction":
            r = {"idTagInfo": info} if p.get("idTag") else {}
        else:
            r = {}
        self.ws.feed([3, mid, r])

    def of(self, action):
        return [c for c in self.calls if c[1] == action]

    def stop(self):
        self.task.cancel()
