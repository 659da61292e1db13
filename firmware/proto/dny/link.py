"""The DNY link: one TCP connection to the back end, with what a pile's 4G module does on it.

- open(): asyncio.open_connection (it fails while no link is up: the net domain's link
  manager brings Wi-Fi or cellular up; this only connects over whichever is up), then the
  SIM's ICCID as 20 ASCII characters, as the modules do after every connect.
- keepalive(): ASCII `link` after `link_idle_ms` without traffic (the modules' 30 s).
- send(): frames go out one at a time, at least `gap_ms` apart (the guide's 0.5 s).
- request(): a new message id per request (a counter for the pile's frames and another for
  host frames, as real sockets number them), the answer is the frame with our command and
  id; none within `answer_ms`: one resend with the same id; none again: None (never retried
  further: the caller's schedule decides what comes next).
- read(): the streaming parser over the socket; each frame goes to on_frame.
"""
import asyncio
import time

from firmware.proto.dny import frame

_ENOTCONN = 107


class Link:
    def __init__(self, c, phys):
        self.c = c  # the dny config the client runs with (answer_ms, gap_ms...)
        self.phys = phys
        self.parser = frame.Parser()
        self.r = self.w = None
        self._ids = [0, 0]  # last message id: pile frames, host frames
        self._wait = {}  # command << 16 | message id -> [command, Event, answer bytes] (two id counters)
        self._lock = asyncio.Lock()
        now = time.ticks_ms()
        self.last_io = now  # any byte either way: the keep-alive's clock
        self.last_frame = time.ticks_add(now, -100000)
        self.tx = self.rx = 0  # bytes since the last take_bytes() (the data budget counts them)
        self.frames_out = self.resends = self.unanswered = self.late = 0

    def up(self):
        return self.w is not None

    async def open(self, host, port, preamble=None):
        p = self.parser
        p.n = p.i = 0
        r, w = await asyncio.wait_for_ms(asyncio.open_connection(host, port), self.c["connect_timeout_ms"])
        self.r, self.w = r, w
        self.last_io = time.ticks_ms()
        if preamble:
            async with self._lock:
                await self._write(preamble)

    async def close(self):
        w, self.w, self.r = self.w, None, None
        for ent in self._wait.values():  # waiting requests end now (answer None)
            ent[1].set()
        if w is not None:
            try:
                w.close()
                await w.wait_closed()
            except OSError:
                pass

    def next_id(self, host=False):
        """1..65535, then 1 again (the wrap is not specified; 0 is never used)."""
        k = 1 if host else 0
        v = self._ids[k] % 0xFFFF + 1
        self._ids[k] = v
        return v

    async def _write(self, data):
        w = self.w
        if w is None:
            raise OSError(_ENOTCONN)
        w.write(data)
        await w.drain()
        self.tx += len(data)
        self.last_io = time.ticks_ms()

    async def send(self, f):
        """One frame, at least gap_ms after the previous one (OSError when the link is down)."""
        async with self._lock:
            gap = self.c["gap_ms"] - time.ticks_diff(time.ticks_ms(), self.last_frame)
            if gap > 0:
                await asyncio.sleep_ms(gap)
            await self._write(f)
            self.last_frame = time.ticks_ms()
            self.frames_out += 1

    async def keepalive(self):
        async with self._lock:
            await self._write(b"link")

    def idle_ms(self):
        return time.ticks_diff(time.ticks_ms(), self.last_io)

    async def request(self, cmd, data=b"", host=False):
        """The answer's data (bytes) or None: unanswered after one resend, or the link went."""
        mid = self.next_id(host)
        f = frame.encode(self.phys, mid, cmd, data)
        ent = [cmd, asyncio.Event(), None]
        key = cmd << 16 | mid
        self._wait[key] = ent
        try:
            for attempt in (0, 1):
                if self.w is None:
                    return None
                if attempt:
                    self.resends += 1
                try:
                    await self.send(f)
                except OSError:
                    return None
                try:
                    await asyncio.wait_for_ms(ent[1].wait(), self.c["answer_ms"])
                except asyncio.TimeoutError:
                    continue
                return ent[2]
            self.unanswered += 1
            return None
        finally:
            self._wait.pop(key, None)

    def answered(self, mid, cmd, data):
        """A frame with one of our commands: the answer of the request with its id, if one
        waits (a late or duplicate answer is counted and dropped)."""
        ent = self._wait.get(cmd << 16 | mid)
        if ent is None or ent[2] is not None:
            self.late += 1
            return False
        ent[2] = bytes(data)
        ent[1].set()
        return True

    async def read(self, on_frame):
        """Frames until the connection ends; on_frame(phys, mid, cmd, data) is awaited for
        each before the next read (data is a view into the parser's buffer)."""
        p = self.parser
        stale = self.c["answer_ms"]
        while True:
            r = self.r
            if r is None:
                return
            mv = p.space()
            if p.pending():  # a partial frame: do not wait for its rest for ever
                try:
                    n = await asyncio.wait_for_ms(r.readinto(mv), stale)
                except asyncio.TimeoutError:
                    p.stale()
                    n = -1
            else:
                n = await r.readinto(mv)
            if n == 0:
                return  # closed by the server
            if n > 0:
                p.feed(n)
                self.rx += n
                self.last_io = time.ticks_ms()
            while True:
                f = p.next()
                if f is None:
                    break
                await on_frame(f[0], f[1], f[2], f[3])

    def take_bytes(self):
        tx, rx = self.tx, self.rx
        self.tx = self.rx = 0
        return tx, rx
