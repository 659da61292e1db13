"""The pile's voice: a SYN6288 text-to-speech module on the bridge's UART B (9600 8N1), fed
from the bus by its own task, so charging never waits for it (a slow or dead module only
loses its own prompts: the subscription queue drops the oldest).

Frame (module data sheet; docs/front.md): FD, length (high byte first: command, parameter,
text, check), 01 = speak, parameter 03 = UNICODE text (UTF-16, high byte first: no GB2312
table on the pile), the text, XOR of every byte before. The module answers 41 (accepted),
45 (not understood), 4E/4F (busy/idle to a query; 4F also when a synthesis ends), 4A after
power-on. A new frame cuts the one playing, so each prompt waits until the module is idle
(its 4F, or a status query). Quiet hours lower the volume ([vN] mark), or silence it.
"""
import asyncio
import time
from micropython import const

from firmware.front import prompts

_MAX_CHARS = const(90)  # the module takes 200 text bytes: 90 UTF-16 characters and the mark
_ACCEPT_MS = const(500)
_IDLE_MS = const(20000)  # longest prompt; a module that never says idle is asked, then skipped
_QUERY_MS = const(500)
_QUEUE = const(8)  # prompts waiting; beyond, the oldest is dropped
VOLUME = 10  # by day, of the module's 0-16 (front.quiet_volume at night)


def encode_utf16be(text, out, i):
    """Append text as UTF-16 high byte first into out at i (characters outside the BMP are
    dropped: the module has no voice for them); returns the new end."""
    for ch in text:
        c = ord(ch)
        if c > 0xFFFF:
            continue
        out[i] = c >> 8
        out[i + 1] = c & 0xFF
        i += 2
    return i


def build_frame(text, volume, buf):
    """The speak frame for text at volume 0-16 in buf (>= 206 bytes); its length."""
    if len(text) > _MAX_CHARS:
        text = text[:_MAX_CHARS]
    i = encode_utf16be("[v%d]" % volume, buf, 5)
    i = encode_utf16be(text, buf, i)
    n = i - 3 + 1  # command, parameter, text, check
    buf[0], buf[1], buf[2], buf[3], buf[4] = 0xFD, n >> 8, n & 0xFF, 0x01, 0x03
    x = 0
    for k in range(i):
        x ^= buf[k]
    buf[i] = x
    return i + 1


def quiet_now(win, unix, tz_min):
    """True inside the quiet window (local time); False while the time is unknown."""
    if win is None or unix is None:
        return False
    t = ((unix + tz_min * 60) // 60) % 1440
    s, e = win
    return s <= t < e if s <= e else (t >= s or t < e)


class Voice:
    def __init__(self, cfg, stream, bus, now=None):
        f = cfg["front"]
        self.lang = f["lang"]
        self.volume = VOLUME
        self.quiet_volume = f["quiet_volume"]
        q = f["quiet"]  # "HH:MM-HH:MM" (front/rules.py checked it) or ""
        self.win = (int(q[:2]) * 60 + int(q[3:5]), int(q[6:8]) * 60 + int(q[9:])) if q else None
        self.tz = 480  # China time, UTC+8: the quiet hours are local hours
        self.s = stream
        self.bus = bus
        self.now = now or bus.now
        self.sub = bus.subscribe("session.", "port.status", "alarm.", "front.say", size=_QUEUE)
        self._frame = bytearray(208)
        self._rx = bytearray(16)
        self.speaking = False
        self.last = None  # the module's last 41/45
        self.spoken = 0
        self.rejected = 0  # frames the module answered 45
        self.garbage = 0  # bytes from the module that mean nothing
        self.silent = 0  # prompts not spoken (quiet hours at volume 0)
        self.dropped = 0
        self.booted = 0  # 4A seen: the module restarted
        self.io_errors = 0

    def _pump(self):
        n = self.s.readinto(self._rx)
        for k in range(n):
            b = self._rx[k]
            if b == 0x4F:
                self.speaking = False
            elif b == 0x4E:
                self.speaking = True
            elif b == 0x4A:
                self.speaking = False
                self.booted += 1
            elif b in (0x41, 0x45):
                self.last = b
            else:
                self.garbage += 1
        return n

    async def _wait(self, cond, ms):
        t0 = time.ticks_ms()
        while not cond():
            if time.ticks_diff(time.ticks_ms(), t0) >= ms:
                return False
            if not self._pump():
                await asyncio.sleep_ms(10)
        return True

    async def _idle(self):
        """Until the module is idle: its own 4F, or asked with the status query."""
        t0 = time.ticks_ms()
        while self.speaking and time.ticks_diff(time.ticks_ms(), t0) < _IDLE_MS:
            if await self._wait(lambda: not self.speaking, _QUERY_MS):
                return
            await self._send(b"\xfd\x00\x02\x21\xde")  # status query: 4E busy, 4F idle
        self.speaking = False

    async def _send(self, data):
        mv = memoryview(data)
        while mv:
            n = self.s.write(mv)
            mv = mv[n:]
            if mv:
                await asyncio.sleep_ms(10)  # the FIFO takes 64 bytes; 9600 baud drains ~1 per ms

    async def say(self, text, urgent=False):
        """Speak text now (after the one playing, or cutting it when urgent)."""
        vol = self.volume
        if quiet_now(self.win, self.now(), self.tz):
            vol = self.quiet_volume
        if vol == 0:
            self.silent += 1
            return False
        self._pump()
        if urgent and self.speaking:
            await self._send(b"\xfd\x00\x02\x02\xfd")  # stop the prompt playing
            await self._wait(lambda: self.last is not None, _ACCEPT_MS)
            self.speaking = False
        await self._idle()
        n = build_frame(text, vol, self._frame)
        self.last = None
        await self._send(memoryview(self._frame)[:n])
        if not await self._wait(lambda: self.last is not None, _ACCEPT_MS) or self.last != 0x41:
            self.rejected += 1
            return False
        self.speaking = True
        self.spoken += 1
        return True

    async def run(self, beat=None):
        while True:
            ev = await self.sub.get()
            self.dropped += self.sub.take_dropped()
            for key, port, fen, mins, why, urgent in prompts.from_event(ev):
                try:
                    await self.say(prompts.text(key, self.lang, port, fen, mins, why), urgent)
                except OSError:  # the bridge's I2C: this prompt is lost, the next one tries again
                    self.io_errors += 1
                    self.speaking = False
                    await asyncio.sleep_ms(1000)
