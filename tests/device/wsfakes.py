"""An in-memory socket under a wsframe.WebSocket, and a frame codec written apart from
lib/wsframe.py (RFC 6455 5.2) so the tests do not check the client against itself."""
import asyncio

import wsconn
import wsframe


class Wire:
    """Reads serve the bytes fed so far in pieces of at most `step` (TCP splits frames
    anywhere), with a None now and then (a TLS socket that wanted more records); at the
    end, EOF if `eof`, else wait for more. Writes are kept in `tx`; `on_tx` sees each.
    Like asyncio's Stream, the socket is `s`: its readinto() does not wait."""

    def __init__(self, data=b"", step=7, eof=True, on_tx=None):
        self.rx = bytearray(data)
        self.pos = 0
        self.step = step
        self.eof = eof
        self.tx = bytearray()
        self.on_tx = on_tx
        self.closed = False
        self.s = self
        self.ev = asyncio.Event()
        self.reads = 0
        self.stuck = False  # True: the socket takes no more bytes, drain() never ends

    def feed(self, data):
        self.rx += data
        self.ev.set()

    def readinto(self, buf):
        """The socket's own read: None when nothing has come yet (or now and then)."""
        if self.closed:
            raise OSError(9)  # EBADF: what a read of a closed socket raises [seen]
        self.reads += 1
        if self.pos >= len(self.rx):
            return 0 if self.eof else None
        if self.reads % 5 == 0:
            return None
        n = min(len(buf), len(self.rx) - self.pos, self.step)
        buf[:n] = memoryview(self.rx)[self.pos : self.pos + n]
        self.pos += n
        if self.pos == len(self.rx):  # consumed: drop it so a long test does not grow
            self.rx = bytearray()
            self.pos = 0
        return n

    async def wait_readinto(self, buf):
        while True:
            k = self.readinto(buf)
            if k is not None:
                return k
            if self.pos < len(self.rx):
                await asyncio.sleep_ms(0)
                continue
            self.ev.clear()
            await self.ev.wait()

    def hangup(self):
        """The peer closes its side: EOF once the bytes fed are read."""
        self.eof = True
        self.ev.set()

    def write(self, data):
        if self.closed:
            raise OSError(9)
        self.tx += data
        if self.on_tx:
            self.on_tx(self)

    async def drain(self):
        await asyncio.sleep_ms(0)  # a real drain yields: lets another sender in between
        while self.stuck:
            await asyncio.sleep_ms(10)

    def close(self):
        self.closed = True
        self.ev.set()


class Stream:
    """asyncio's Stream over a Wire: readinto() waits until something comes."""

    def __init__(self, wire):
        self.s = wire
        self.write = wire.write
        self.drain = wire.drain

    @property
    def out_buf(self):  # what the socket has not taken yet
        return b"x" if self.s.stuck else b""

    async def readinto(self, buf):
        return await self.s.wait_readinto(buf)


def frame(op, payload=b"", fin=True, rsv=0, mask=None, length=None):
    """A server frame; `length` overrides the announced length, `mask` masks it."""
    n = len(payload) if length is None else length
    m = 0x80 if mask else 0
    out = bytearray([(0x80 if fin else 0) | rsv | op])
    if n < 126:
        out.append(m | n)
    elif n < 65536:
        out.append(m | 126)
        out += n.to_bytes(2, "big")
    else:
        out.append(m | 127)
        out += n.to_bytes(8, "big")
    if mask:
        out += mask
        p = bytearray(payload)
        for i in range(len(p)):
            p[i] ^= mask[i & 3]
        payload = p
    out += payload
    return out


def close_frame(code=None, reason=b""):
    return frame(8, b"" if code is None else code.to_bytes(2, "big") + reason)


def sent(tx):
    """The client's frames in `tx`: [(fin, opcode, payload, header length)]; each must be
    masked (RFC 6455 5.3)."""
    out = []
    i = 0
    while i < len(tx):
        b0, b1 = tx[i], tx[i + 1]
        h = i
        i += 2
        if not b1 & 0x80:
            raise AssertionError("client frame not masked")
        n = b1 & 127
        if n == 126:
            n = int.from_bytes(tx[i : i + 2], "big")
            i += 2
        elif n == 127:
            n = int.from_bytes(tx[i : i + 8], "big")
            i += 8
        key = tx[i : i + 4]
        i += 4
        p = bytearray(memoryview(tx)[i : i + n])
        if len(p) != n:
            raise AssertionError("client frame cut short")
        i += n
        for j in range(n):
            p[j] ^= key[j & 3]
        out.append((b0 >> 7, b0 & 15, p, i - n - h))
    return out


def ws_on(data=b"", step=7, eof=True, on_tx=None, **kw):
    w = Wire(data, step, eof, on_tx)
    kw.setdefault("timeout", 2)
    st = Stream(w)
    return wsconn.WebSocket(st, st, **kw), w


async def closed_with(ws):
    """recv() until the connection ends -> (code, reason, messages received before)."""
    got = []
    while True:
        try:
            got.append(await ws.recv())
        except wsframe.ConnectionClosed as e:
            return e.code, e.reason, got
