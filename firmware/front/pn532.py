"""PN532 card reader on its HSU UART (the front's bridge channel A, 115200 8N1): wake-up,
SAM and retry configuration, then one card search per poll. Frames per the PN532 User
Manual UM0701-02 6.2 (normal information frame, ACK, error frame); the sim's emulator is
tools/upile/sim/peers/pn532.py.

The stream is any object with readinto(buf) -> n and write(data) -> n that never blocks
(firmware/board/sc16is752.py Channel). Garbage on the line is skipped: a frame is only
taken when its start code, LEN/LCS and DCS all check, so noise costs a retry, never a
wrong card number.
"""
import asyncio
import time
from micropython import const

_ACK = b"\x00\x00\xff\x00\xff\x00"
_WAKE = b"\x55\x55" + bytes(14)  # HSU wake-up: 0x55 then a long preamble (UM 7.2.11)
_BUF = const(96)


class ReaderError(Exception):
    """args[0]: no_ack, timeout, error_frame, bad_firmware."""


class PN532:
    def __init__(self, stream, ack_ms=100, answer_ms=1000):
        self.s = stream
        self.ack_ms = ack_ms
        self.answer_ms = answer_ms
        self._rx = bytearray(32)
        self._buf = bytearray()
        self._out = bytearray(40)
        self.garbage = 0  # bytes skipped that were no frame
        self.errors = 0
        self.firmware = None

    def _frame(self, payload):
        """Normal information frame host -> PN532 into a reused buffer; its memoryview."""
        o = self._out
        n = len(payload) + 1
        o[0], o[1], o[2], o[3], o[4], o[5] = 0, 0, 0xFF, n, (-n) & 0xFF, 0xD4
        s = 0xD4
        i = 6
        for b in payload:
            o[i] = b
            s += b
            i += 1
        o[i], o[i + 1] = (-s) & 0xFF, 0
        return memoryview(o)[: i + 2]

    async def _write(self, data):
        while data:
            n = self.s.write(data)
            data = data[n:]
            if data:
                await asyncio.sleep_ms(2)

    def _fill(self):
        n = self.s.readinto(self._rx)
        if n:
            b = self._buf
            b += memoryview(self._rx)[:n]
            if len(b) > _BUF:  # garbage piled up: keep the tail, where a frame may begin
                self.garbage += len(b) - _BUF
                b[:len(b) - _BUF] = b""
        return n

    def _take(self):
        """The next whole frame in the buffer: b"ACK", b"ERR" or the payload after D5; None
        if none is complete yet. Bytes before a frame are garbage and go."""
        b = self._buf
        while True:
            i = b.find(b"\x00\xff")
            if i < 0:
                keep = 1 if b and b[-1] == 0 else 0
                self.garbage += len(b) - keep
                b[:len(b) - keep] = b""
                return None
            if i:
                self.garbage += i
                b[:i] = b""
            if len(b) < 4:
                return None
            n, lcs = b[2], b[3]
            if n == 0 and lcs == 0xFF:
                b[:4] = b""
                return b"ACK"
            if (n + lcs) & 0xFF or n == 0:
                self.garbage += 2
                b[:2] = b""
                continue
            if len(b) < 5 + n:
                return None
            data = bytes(b[4: 4 + n])
            ok = (sum(data) + b[4 + n]) & 0xFF == 0
            b[:5 + n] = b""
            if not ok:
                self.garbage += n + 5
                continue
            if data == b"\x7f":
                return b"ERR"
            if data[0] == 0xD5:
                return data[1:]
            self.garbage += n + 5

    async def _wait(self, ms, want_ack):
        t0 = time.ticks_ms()
        while True:
            f = self._take()
            if f is not None:
                if want_ack:
                    if f == b"ACK":
                        return f
                    continue  # a late answer to an aborted command: not ours
                if f != b"ACK":
                    return f
            if time.ticks_diff(time.ticks_ms(), t0) >= ms:
                return None
            if not self._fill():
                await asyncio.sleep_ms(5)

    async def command(self, payload, answer_ms=None):
        """Send a command, wait for its ACK and its answer (payload after D5: code + 1 first)."""
        self._fill()
        self._buf[:] = b""  # whatever came unasked is stale now
        await self._write(self._frame(payload))
        if await self._wait(self.ack_ms, True) is None:
            self.errors += 1
            raise ReaderError("no_ack")
        r = await self._wait(answer_ms or self.answer_ms, False)
        if r is None:
            await self._write(_ACK)  # abort the command under way (UM 6.2.2)
            self.errors += 1
            raise ReaderError("timeout")
        if r == b"ERR":
            self.errors += 1
            raise ReaderError("error_frame")
        if not r or r[0] != payload[0] + 1:
            self.errors += 1
            raise ReaderError("wrong_answer")
        return r

    async def begin(self):
        """Wake the module, check it is a PN532, normal SAM mode, one retry per search (the
        default 0xFF would make a search wait until a card comes)."""
        await self._write(_WAKE)
        await asyncio.sleep_ms(10)
        await self.command(b"\x14\x01\x14\x01")  # SAMConfiguration: normal mode, 1 s, IRQ
        fw = await self.command(b"\x02")
        if len(fw) < 5 or fw[1] != 0x32:
            raise ReaderError("bad_firmware")
        self.firmware = "%d.%d" % (fw[2], fw[3])
        await self.command(b"\x32\x05\xff\x01\x01")  # MaxRetries: ATR, PSL, passive activation

    async def search(self):
        """One search for a type A card: (uid bytes, sak) or None."""
        r = await self.command(b"\x4a\x01\x00")
        if len(r) < 2 or r[1] == 0:
            return None
        # 4B NbTg Tg SENS_RES(2) SEL_RES NFCIDLength NFCID1...
        if len(r) < 7 or len(r) < 7 + r[6]:
            self.errors += 1
            raise ReaderError("wrong_answer")
        uid = bytes(r[7: 7 + r[6]])
        await self.command(b"\x52\x00")  # InRelease: the next search starts from scratch
        return uid, r[5]
