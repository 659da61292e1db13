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
