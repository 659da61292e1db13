"""UART links: each chip `machine.UART(id)` is a socket to the harness, which paces the
bytes in both directions at the configured baud rate (start + data + parity + stop bits
per byte) and hands them to the peer attached to that id. Faults can be injected per
direction: drop, corrupt, stall, garbage.

Bytes sent by a peer while the chip has no UART open on that id are lost, as they are on
the pins of a board whose UART is not initialised.
"""
import random
import socket

from upile.sim.ioloop import listen_loopback, recv_nowait

TO_CHIP = "to_chip"
FROM_CHIP = "from_chip"
_KINDS = ("drop", "corrupt", "stall", "garbage")


class _Dir:
    """One direction of a link: a queue drained at the byte rate, with pending faults."""

    def __init__(self):
        self.queue = bytearray()
        self.credit = 0.0
        self.last = None
        self.drop = 0
        self.corrupt = 0
        self.stall_until = 0.0
        self.sent = 0

    def take(self, now, rate, burst):
        if not self.queue:
            # an idle line: the next byte's start bit can go out at once
            self.last = now
            self.credit = 1.0
            return b""
        if self.last is None:
            self.last = now
        self.credit = min(self.credit + (now - self.last) * rate, burst)
        self.last = now
        if now < self.stall_until:
            self.credit = 0.0
            return b""
        n = min(int(self.credit), len(self.queue))
        if n <= 0:
            return b""
        self.credit -= n
        out = bytes(self.queue[:n])
        del self.queue[:n]
        return out


class UartLink:
    def __init__(self, board, uart_id, peer=None, seed=None):
        self.board = board
        self.id = uart_id
        self.peer = peer
        self.baudrate, self.bits, self.parity, self.stop = 115200, 8, "N", 1
        self.sock = None
        self.open = False
        self._rng = random.Random(seed if seed is not None else uart_id)
        self._dir = {TO_CHIP: _Dir(), FROM_CHIP: _Dir()}
        self._inbuf = b""
        self._last_poll = 0.0

    # --- configuration from the chip ------------------------------------------------
    def configure(self, baud, bits, parity, stop):
        self.baudrate, self.bits, self.parity, self.stop = baud, bits, parity, stop
        self.open = True
        if self.peer is not None:
            self.peer.on_open(baud, bits, None if parity == "N" else parity, stop)

    def byte_rate(self):
        frame = 1 + self.bits + (0 if self.parity == "N" else 1) + self.stop
        return self.baudrate / float(frame)

    def connect(self, sock, first):
        self.disconnect()
        self.sock = sock
        self.open = True
        for d in self._dir.values():
            d.queue.clear()
            d.last = None
        if first:
            self._from_chip_bytes(first)

    def disconnect(self):
        if self.sock is not None:
            self.board.loop.remove_reader(self.sock)
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None
        self.open = False
        self._dir[TO_CHIP].queue.clear()

    def _from_chip_bytes(self, data):
        self._dir[FROM_CHIP].queue += data

    def readable(self, sock):
        data = recv_nowait(sock)
        if data is None:
            return
        if not data:
            if sock is self.sock:
                self.disconnect()
            return
        self._from_chip_bytes(data)

    # --- faults ---------------------------------------------------------------------------
    def inject(self, kind, count=1, seconds=0.0, direction=TO_CHIP):
        """Inject a fault: drop/corrupt the next `count` bytes, stall for `seconds`
        (bytes wait, none lost), or insert `count` random garbage bytes now."""
        if kind not in _KINDS or direction not in self._dir:
            raise ValueError("fault kind must be one of %s, direction to_chip|from_chip" % (_KINDS,))
        self.board.loop.call(self._inject, kind, count, seconds, direction)

    def _inject(self, kind, count, seconds, direction):
        d = self._dir[direction]
        if kind == "drop":
            d.drop += count
        elif kind == "corrupt":
            d.corrupt += count
        elif kind == "stall":
            d.stall_until = self.board.now() + seconds
        else:
            junk = bytes(self._rng.randrange(256) for _ in range(count))
            d.queue[0:0] = junk
        self.board.event("uart_fault", (self.id, kind, direction, count if kind != "stall" else seconds))

    def _apply_faults(self, d, data):
        if d.drop:
            k = min(d.drop, len(data))
            d.drop -= k
            data = data[k:]
        if d.corrupt and data:
            k = min(d.corrupt, len(data))
            d.corrupt -= k
            b = bytearray(data)
            for i in range(k):
                b[i] ^= 1 << self._rng.randrange(8)
            data = bytes(b)
        return data

    # --- the tick -----------------------------------------------------------------------
    def tick(self, now):
        if self.peer is not None and now - self._last_poll >= 0.005:
            self._last_poll = now
            more = self.peer.poll(now)
            if more and self.sock is not None:
                self._dir[TO_CHIP].queue += more
        rate = self.byte_rate()
        burst = max(2.0, rate * 0.02)
        d = self._dir[TO_CHIP]
        out = d.take(now, rate, burst) if self.sock is not None else b""
        if out:
            out = self._apply_faults(d, out)
            if out:
                try:
                    self.sock.sendall(out)
                    d.sent += len(out)
                except OSError:
                    self.disconnect()
        d = self._dir[FROM_CHIP]
        out = d.take(now, rate, burst)
        if out:
            out = self._apply_faults(d, out)
            d.sent += len(out)
            if out and self.peer is not None:
                self.peer.on_rx(out)


class UartServer:
    """Accepts the chip's UART sockets; the first line of each names the UART id."""

    def __init__(self, loop, links_for):
        self.loop = loop
        self._links_for = links_for
        self._srv = listen_loopback(8)
        self.port = self._srv.getsockname()[1]
        self._pending = {}
        loop.add_reader(self._srv, self._accept)

    def _accept(self, srv):
        try:
            c, _ = srv.accept()
        except BlockingIOError:
            return
        c.setblocking(False)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._pending[c] = b""
        self.loop.add_reader(c, self._hello)

    def _hello(self, c):
        try:
            data = c.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._pending.pop(c, None)
            self.loop.remove_reader(c)
            c.close()
            return
        buf = self._pending[c] + data
        if b"\n" not in buf:
            self._pending[c] = buf
            return
        del self._pending[c]
        head, rest = buf.split(b"\n", 1)
        self.loop.remove_reader(c)
        link = self._links_for(int(head))
        link.connect(c, rest)
        self.loop.add_reader(c, link.readable)

    def close(self):
        for c in list(self._pending):
            self.loop.remove_reader(c)
            c.close()
        self.loop.remove_reader(self._srv)
        self._srv.close()
