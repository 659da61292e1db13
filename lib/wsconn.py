"""An open WebSocket connection, client side (RFC 6455): messages over wsframe.FrameIO.
websocket.connect() opens it; docs/websocket.md."""
# Fragmented messages are reassembled with control frames between the pieces, pings are
# answered, the close handshake carries codes, and a malformed frame fails the connection
# with its code (1002, 1007, 1009). A message's payload is read straight into a buffer of
# `bufsize` bytes, or for a larger one into a buffer of its own size (dropped after it),
# refused with 1009 above `max_size` before anything is allocated.
import asyncio
import struct

from wsframe import (BUFSIZE, CLOSED, CLOSING, INVALID_DATA, MAX_SIZE, NORMAL, OPEN, PROTOCOL_ERROR,
                     TOO_BIG, ConnectionClosed, FrameIO, utf8_bad, valid_code)


class WebSocket(FrameIO):
    """One task at a time may recv(); send, ping and close may come from other tasks."""

    def __init__(self, reader, writer, timeout=10, max_size=MAX_SIZE, bufsize=BUFSIZE, protocol=None,
                 pending=None):
        super().__init__(reader, writer, timeout, bufsize, pending)
        self.max_size = max_size
        self.protocol = protocol  # the subprotocol the server selected
        self._base = bytearray(bufsize)
        self._buf = self._base  # the message being read (its own buffer if larger)
        self._op = 0  # opcode of the message being assembled, 0 between messages
        self._n = 0  # its bytes so far
        self._pings = 0

    async def _control(self, op, ln):
        cm = self._cm
        if op == 9:
            await self._send(10, cm[:ln])
        elif op == 10:
            p = self._ping  # a pong for an older ping, or unasked (RFC 6455 5.5.3), is dropped
            if p and cm[:ln] == p[0]:
                p[2] = True
                p[1].set()
                self._ping = None
        else:
            if ln == 1:
                await self._fail(PROTOCOL_ERROR, "close frame with a 1-byte payload")
            code = (cm[0] << 8) | cm[1] if ln else None
            if ln and not valid_code(code):
                await self._fail(PROTOCOL_ERROR, "close code %d is not sent on the wire" % code)
            if utf8_bad(cm[2:], ln - 2) >= 0:
                await self._fail(INVALID_DATA, "close reason is not UTF-8")
            if self._state == OPEN:
                self.code = 1005 if code is None else code  # 1005: the peer gave no code
                self.reason = str(cm[2:ln], "utf-8") if ln > 2 else ""
                self._state = CLOSING
                try:
                    await self._send_close(code, "")  # the echo RFC 6455 5.5.1 suggests
                except ConnectionClosed:
                    pass
            await self._linger()

    async def _frame(self):
        # Read one frame -> a whole message (str or bytes), or None: a control frame, a
        # fragment, or a message that came after our close frame.
        cm = self._cm
        self._mid = False
        await self._fill(cm[:2], True)
        b0, b1 = cm[0], cm[1]
        op = b0 & 15
        fin = b0 & 0x80
        ln = b1 & 127
        if b0 & 0x70:
            await self._fail(PROTOCOL_ERROR, "RSV bits set (no extension was negotiated)")
        if b1 & 0x80:
            await self._fail(PROTOCOL_ERROR, "masked frame from the server")
        if ln == 126:
            await self._fill(cm[2:4], False)
            ln = (cm[2] << 8) | cm[3]
        elif ln == 127:
            await self._fill(cm[2:10], False)
            if cm[2] & 0x80:
                await self._fail(PROTOCOL_ERROR, "64-bit length with its top bit set")
            ln = struct.unpack_from("!Q", cm, 2)[0]
        if op >= 8:
            if op > 10:
                await self._fail(PROTOCOL_ERROR, "unknown control opcode %d" % op)
            if not fin or ln > 125:
                await self._fail(PROTOCOL_ERROR, "control frame fragmented or of %d bytes (max 125)" % ln)
            await self._fill(cm[:ln], False)
            self._mid = False
            await self._control(op, ln)
            return None
        if op == 0:
            if not self._op:
                await self._fail(PROTOCOL_ERROR, "continuation frame outside a message")
        elif op > 2:
            await self._fail(PROTOCOL_ERROR, "unknown opcode %d" % op)
        elif self._op:
            await self._fail(PROTOCOL_ERROR, "new message inside a fragmented one")
        else:
            self._op, self._n = op, 0
        start = self._n
        n = start + ln
        if n > self.max_size:
            await self._fail(TOO_BIG, "message of %d+ bytes, max %d" % (n, self.max_size))
        if n > len(self._buf):
            try:  # a whole message gets its size, fragments double the buffer
                big = bytearray(n if fin else min(self.max_size, max(n, 2 * len(self._buf))))
            except MemoryError:
                await self._fail(TOO_BIG, "no heap for a message of %d+ bytes" % n)
            big[:start] = memoryview(self._buf)[:start]
            self._buf = big
        if ln:
            await self._fill(memoryview(self._buf)[start:n], False)
        self._n = n
        self._mid = False
        if not fin:
            return None
        op, self._op = self._op, 0
        buf, self._buf = self._buf, self._base
        if self._state != OPEN:
            return None
        mv = memoryview(buf)[:n]
        if op == 1 and utf8_bad(mv, n) >= 0:
            await self._fail(INVALID_DATA, "text message is not UTF-8")
        try:
            return str(mv, "utf-8") if op == 1 else bytes(mv)
        except MemoryError:
            await self._fail(TOO_BIG, "no heap for a message of %d bytes" % n)

    async def recv(self):
        """The next message: str (text) or bytes (binary); raises ConnectionClosed. Pings
        are answered and pongs noted in here. Cancelling it (asyncio.wait_for) between
        frames is harmless; inside a frame it ends the connection (1006)."""
        if self._reading:
            if self._state == OPEN:
                raise RuntimeError("recv() is already running in another task")
            await self._wait(self._closed, self._t)  # close() is reading
        if self._state != OPEN:
            raise ConnectionClosed(self.code, self.reason)
        self._reading = True
        try:
            await asyncio.sleep_ms(0)  # reads that find their bytes waiting never yield
            while True:
                m = await self._frame()
                if m is not None:
                    return m
        finally:
            self._reading = False
            if self._mid:
                self._lost("recv interrupted inside a frame")

    async def send(self, data):
        """Send a message: a str as text, any other buffer as binary."""
        await self._send(1 if isinstance(data, str) else 2, data)

    async def ping(self, timeout=None):
        """Send a ping. With `timeout` (s), wait for its pong and return whether it came:
        recv() reads pongs, so another task must be in recv() meanwhile."""
        self._pings = (self._pings + 1) & 0x3FFFFFFF
        rec = self._ping = [struct.pack("!I", self._pings), asyncio.Event(), False]
        await self._send(9, rec[0])
        if timeout is None:
            return None
        await self._wait(rec[1], timeout)
        if not rec[2] and self._state == CLOSED:
            raise ConnectionClosed(self.code, self.reason)
        return rec[2]

    async def _to_close(self):
        while True:  # ends with ConnectionClosed: the peer's close frame or EOF
            await self._frame()

    async def close(self, code=NORMAL, reason=""):
        """The close handshake: our close frame, then the peer's (read here, or by a task in
        recv()) for at most `timeout` s, then the socket closes. Harmless when closed."""
        if not valid_code(code) or len(reason.encode()) > 123:
            raise ValueError("close code %r / reason of %d bytes" % (code, len(reason.encode())))
        if self._state == OPEN:
            self.code, self.reason = code, reason
            self._state = CLOSING
            try:
                await self._send_close(code, reason)
                if self._reading:
                    await self._wait(self._closed, self._t)
                else:
                    self._reading = True
                    try:
                        await asyncio.wait_for(self._to_close(), self._t)
                    finally:
                        self._reading = False
            except (ConnectionClosed, asyncio.TimeoutError):
                pass
        self._drop()

