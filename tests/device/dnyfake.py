# A DNY back end inside micropython for the device tests of the client (not a test module):
# an asyncio TCP server on loopback that records what the pile sends (text before frames,
# `link`, frames with their message ids), answers the pile's requests by a table the test
# changes (withhold an answer, or answer only some), and sends its own requests.
import asyncio
import time

from firmware.proto.dny import frame
from waits import until  # noqa: F401  (the DNY tests take it from here)

# default answers: command -> answer data (None: no answer)
ANSWERS = {0x20: b"\x00", 0x21: b"\x00", 0x01: b"\x00", 0x03: b"\x00", 0x12: None, 0x22: None}


class Conn:
    def __init__(self, srv, r, w):
        self.srv, self.r, self.w = srv, r, w
        self.raw = bytearray()  # the first bytes of the stream as they came (preamble, link...)
        self.frames = []  # (ticks, phys, mid, cmd, data bytes)
        self.answers = {}  # our requests: mid -> data
        self.asked = set()  # (mid, cmd) of our requests not answered yet
        self.mid = 0
        self.closed = False


class Server:
    def __init__(self, time_answer=None):
        self.conns = []
        self.answers = dict(ANSWERS)
        self.withhold = {}  # command -> how many of its requests go unanswered first
        self.time_answer = time_answer  # unix seconds for 0x22/0x12 (None: not answered)
        self.port = None
        self.srv = None

    async def start(self):
        import random

        for _ in range(20):
            port = 20000 + random.getrandbits(15) % 30000
            try:
                self.srv = await asyncio.start_server(self._conn, "127.0.0.1", port)
                self.port = port
                return self
            except OSError:
                continue
        raise OSError("no free port")

    def close(self):
        for c in self.conns:
            self.drop(c)
        if self.srv is not None:
            self.srv.close()

    def drop(self, c):
        if not c.closed:
            c.closed = True
            try:
                c.w.close()
            except OSError:
                pass

    @property
    def conn(self):
        return self.conns[-1] if self.conns else None

    async def _conn(self, r, w):
        c = Conn(self, r, w)
        self.conns.append(c)
        p = frame.Parser()
        try:
            while not c.closed:
                mv = p.space()
                n = await r.readinto(mv)
                if not n:
                    break
                if len(c.raw) < 16384:
                    c.raw += bytes(mv[:n])
                p.feed(n)
                while True:
                    f = p.next()
                    if f is None:
                        break
                    await self._frame(c, f[0], f[1], f[2], bytes(f[3]))
        except OSError:
            pass
        c.closed = True

    async def _frame(self, c, phys, mid, cmd, data):
        c.frames.append((time.ticks_ms(), phys, mid, cmd, data))
        if cmd in (0x12, 0x22):
            ans = None if self.time_answer is None else _u32(self.time_answer)
        else:
            ans = self.answers.get(cmd)
        if (mid, cmd) in c.asked:
            c.asked.discard((mid, cmd))
            c.answers[mid] = data  # the pile answering one of ours
            return
        if ans is None:
            return
        n = self.withhold.get(cmd, 0)
        if n:
            self.withhold[cmd] = n - 1
            return
        await self.send(c, phys, mid, cmd, ans)

    async def send(self, c, phys, mid, cmd, data):
        c.w.write(frame.encode(phys, mid, cmd, data))
        await c.w.drain()

    async def request(self, cmd, data=b"", timeout_ms=5000, phys=None, mid=None):
        """Send a request to the pile on the newest connection; its answer's data or None."""
        c = self.conn
        if mid is None:
            c.mid += 1
            mid = c.mid
        if phys is None:
            phys = [f for f in c.frames if f[3] == 0x20][-1][1]
        c.answers.pop(mid, None)
        c.asked.add((mid, cmd))
        await self.send(c, phys, mid, cmd, data)
        end = time.ticks_add(time.ticks_ms(), timeout_ms)
        while time.ticks_diff(end, time.ticks_ms()) > 0:
            if mid in c.answers:
                return c.answers.pop(mid)
            await asyncio.sleep_ms(5)
        return None

    def sent(self, cmd, conn=None):
        """Frames with this command the pile sent (on one connection or all)."""
        conns = [conn] if conn is not None else self.conns
        return [f for c in conns for f in c.frames if f[3] == cmd]


def _u32(v):
    return bytes((v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >> 24) & 0xFF))


