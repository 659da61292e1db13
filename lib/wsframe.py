"""WebSocket frames on the wire, client side (RFC 6455 5): exact reads, masked frame
writes, failing and dropping the connection. wsconn.WebSocket builds messages on it."""
# Split from wsconn.py so each compiles from source in a 64K heap (the parse tree of the
# 300-line class they made needed ~58 KB on the 64-bit Unix port). Buffers: a frame header
# and a control payload share one 125-byte buffer; outgoing payloads are masked in place in
# a reusable buffer, `bufsize` bytes per write, so no message is ever copied whole.
import asyncio
import os
import struct
import time

import micropython
from micropython import const

NORMAL = const(1000)
GOING_AWAY = const(1001)
PROTOCOL_ERROR = const(1002)
INVALID_DATA = const(1007)
TOO_BIG = const(1009)
INTERNAL_ERROR = const(1011)
ABNORMAL = const(1006)  # never on the wire: the connection ended without a close frame
MAX_SIZE = const(16384)  # default max_size: OCPP messages are JSON texts of a few KiB
BUFSIZE = const(1024)  # default bufsize: most OCPP messages fit, so they need no other buffer
OPEN = const(0)
CLOSING = const(1)  # a close frame went out; waiting for the peer's
CLOSED = const(2)


class ConnectionClosed(Exception):
    """The connection is closed: `code` and `reason` of its close."""

    def __init__(self, code, reason=""):
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


def close_now(stream):
    # asyncio's Stream.close() does nothing on MicroPython; a task blocked reading the
    # socket wakes with OSError (EBADF) when the socket closes [seen]
    try:
        stream.s.close()
    except OSError:
        pass


@micropython.viper
def _mask(buf: ptr8, n: int, key: ptr8, k: int):
    # XOR the first n bytes with the key, payload byte k being the first (RFC 6455 5.3)
    i = 0
    while i < n:
        buf[i] ^= key[(i + k) & 3]
        i += 1


@micropython.viper
def utf8_bad(b: ptr8, n: int) -> int:
    # Index of the first byte that is not well-formed UTF-8 (RFC 3629 4: no overlong forms,
    # no surrogates, nothing above U+10FFFF), or -1. MicroPython's own check lets those pass.
    i = 0
    while i < n:
        c = b[i]
        if c < 0x80:
            i += 1
            continue
        lo = 0x80
        hi = 0xBF
        if c < 0xC2:
            return i
        elif c < 0xE0:
            k = 1
        elif c < 0xF0:
            k = 2
            if c == 0xE0:
                lo = 0xA0
            if c == 0xED:
                hi = 0x9F
        elif c < 0xF5:
            k = 3
            if c == 0xF0:
                lo = 0x90
            if c == 0xF4:
                hi = 0x8F
        else:
            return i
        if i + k >= n:
            return i
        c = b[i + 1]
        if c < lo or c > hi:
            return i
        j = 2
        while j <= k:
            if (b[i + j] & 0xC0) != 0x80:
                return i
            j += 1
        i += k + 1
    return -1


def valid_code(c):
    # codes a close frame may carry (RFC 6455 7.4; IANA registry: 1012-1014 came later)
    return 1000 <= c <= 1003 or 1007 <= c <= 1014 or 3000 <= c <= 4999


class FrameIO:
    """The byte level of an open connection; `timeout` (s) bounds every read or write
    inside a frame and the close handshake."""

    def __init__(self, reader, writer, timeout, bufsize, pending):
        self._r = reader
        self._w = writer
        self._t = timeout
        self._cb = bytearray(125)  # an incoming frame header, then a control frame's payload
        self._cm = memoryview(self._cb)
        self._wb = bytearray(max(bufsize, 128) + 14)  # an outgoing frame: header, masked payload
        self._wm = memoryview(self._wb)
        self._wl = asyncio.Lock()  # one frame at a time goes out, whole
        # Events are set, never cleared: set-then-clear would lose a waiter whose
        # wait_for task had not started yet [seen]
        self._closed = asyncio.Event()  # set once the socket is closed
        self._ping = None  # the ping in flight: [payload, Event set by its pong or the close, answered]
        self._pend = memoryview(pending) if pending else None  # read past the handshake
        self._state = OPEN
        self.code = None  # the close's code and reason, once one was sent or received
        self.reason = None
        self._mid = False  # inside an incoming frame: an interrupted read loses the stream
        self._reading = False

    @property
    def closed(self):
        return self._state != OPEN

    def _drop(self):
        if self._state != CLOSED:
            self._state = CLOSED
            close_now(self._w)
        self._closed.set()
        if self._ping:
            self._ping[1].set()

    def _lost(self, why):
        if self.code is None:
            self.code, self.reason = ABNORMAL, why
        self._drop()
        return ConnectionClosed(self.code, self.reason)

    def abort(self):
        """Drop the connection at once, without a close handshake (for a peer that stopped
        answering pings): recv/send then raise ConnectionClosed(1006)."""
        self._lost("aborted")

    async def _wait(self, ev, timeout):
        try:
            await asyncio.wait_for_ms(ev.wait(), int(timeout * 1000))
        except asyncio.TimeoutError:
            pass

    async def _fill(self, mv, wait):
        # Read exactly len(mv) bytes. With `wait` the first may take forever (a frame's
        # first byte: the peer may be quiet for long); the others come within the timeout.
        n = 0
        while n < len(mv):
            p = self._pend
            if p is not None:
                k = min(len(mv) - n, len(p))
                mv[n : n + k] = p[:k]
                self._pend = p[k:] if k < len(p) else None
                n += k
                self._mid = True
                continue
            try:
                # what has come already, without a trip through the scheduler: a TLS
                # socket is polled in 1 ms steps there [seen]; None: nothing yet
                k = self._r.s.readinto(mv[n:])
                if k is None:
                    if wait and not n:
                        k = await self._r.readinto(mv)
                    else:
                        k = await asyncio.wait_for(self._r.readinto(mv[n:]), self._t)
            except asyncio.TimeoutError:
                raise self._lost("nothing for %s s inside a frame" % self._t)
            except (OSError, ValueError) as e:  # ValueError: mbedTLS
                raise self._lost("read: %r" % (e,))
            if k is None:  # TLS wanted more records; wait again
                continue
            if not k:
                raise self._lost("closed inside a frame" if self._mid else "closed without a close frame")
            n += k
            self._mid = True

    async def _out(self, mv):
        try:
            w = self._w
            w.write(mv)  # what the socket does not take now, the stream keeps (a copy)
            if not getattr(w, "out_buf", 1):  # all taken: drain() only yields, no timeout (and
                await w.drain()  # wait_for's extra tasks cost ~1 ms each with TLS [seen])
            else:
                await asyncio.wait_for(w.drain(), self._t)
        except asyncio.TimeoutError:
            raise self._lost("send: no progress for %s s" % self._t)
        except (OSError, ValueError) as e:
            raise self._lost("send: %r" % (e,))

    async def _send(self, op, data):
        # One frame of `data` (a str goes out as its UTF-8 bytes, uncopied).
        src = memoryview(data)
        n = len(src)
        async with self._wl:
            if self._state != OPEN:
                if op == 10:  # no pong once a close frame went out
                    return
                if op != 8 or self._state == CLOSED:
                    raise ConnectionClosed(self.code, self.reason)
            wb, wm = self._wb, self._wm
            wb[0] = 0x80 | op
            if n < 126:
                wb[1] = 0x80 | n
                h = 2
            elif n < 65536:
                wb[1] = 0xFE
                struct.pack_into("!H", wb, 2, n)
                h = 4
            else:
                wb[1] = 0xFF
                struct.pack_into("!Q", wb, 2, n)
                h = 10
            key = os.urandom(4)
            wb[h : h + 4] = key
            h += 4
            off = 0
            try:
                while True:
                    c = min(n - off, len(wb) - h)
                    wm[h : h + c] = src[off : off + c]
                    _mask(wm[h:], c, key, off)
                    off += c  # handed to the stream, which keeps what the socket refuses
                    await self._out(wm[: h + c])
                    if off >= n:
                        return
                    h = 0
            finally:
                if 0 < off < n:  # stopped between pieces: the peer has half a frame
                    self._lost("send interrupted inside a frame")

    async def _send_close(self, code, reason):
        await self._send(8, b"" if code is None else struct.pack("!H", code) + reason.encode())

    async def _linger(self):
        # After the close frames: read and drop what the peer still sends until it closes
        # the connection (RFC 6455 7.1.1: the server closes first) or the timeout, then
        # close. Closing with unread input would reset the connection, which can destroy
        # our close frame on its way.
        try:
            mv = memoryview(self._wb)  # free: only a close frame goes out at CLOSING
            t0 = time.ticks_ms()
            while self._state != CLOSED:
                left = int(self._t * 1000) - time.ticks_diff(time.ticks_ms(), t0)
                if left <= 0 or await asyncio.wait_for_ms(self._r.readinto(mv), left) == 0:
                    break
        except (OSError, ValueError, asyncio.TimeoutError):
            pass
        self._drop()
        raise ConnectionClosed(self.code, self.reason)

    async def _fail(self, code, why):
        # Fail the connection (RFC 6455 7.1.7): a close frame with `code`, then linger.
        if self._state == OPEN:
            self.code, self.reason = code, why
            self._state = CLOSING
            try:
                await self._send_close(code, why[:123])
            except ConnectionClosed:
                pass
        await self._linger()
