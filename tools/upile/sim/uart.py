"""UART links: each chip `machine.UART(id)` is a socket to the harness, which paces the
bytes in both directions at the configured baud rate (start + data + parity + stop bits
per byte) and hands them to the peer attached to that id. Faults can be injected per
direction: drop, corrupt, stall, garbage.

What a peer sends goes on the wire at the baud rate whether or not anyone listens. A byte
that reaches the chip's RX pin while no UART is open on that id is lost, as on a board
whose UART is not initialised; from the open on (the chip's `uart` line or its socket,
whichever the harness sees first) it is the chip's, and bytes that arrive before the
chip's socket is connected wait for it. The chip's side (chip/_simuart.py) then keeps at
most what the ESP32's driver would (rxbuf ring + 128-byte hardware FIFO).

Each open of the chip carries a number (`seq`, counted per chip boot; sockets also name the
boot), so a socket or line of an earlier open or boot is never taken for the current one.
"""
import random
import socket
import time

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
        self.sent = 0       # bytes delivered (to the chip's RX pin, or to the peer)
        self.sent_t = 0.0   # when the last of them went

    def put(self, data, now):
        if not self.queue:
            # an idle line: the first byte's start bit goes at once
            self.last = now
            self.credit = 1.0
        self.queue += data

    def take(self, now, rate):
        if not self.queue:
            return b""
        if now < self.stall_until:
            self.credit = 0.0
            self.last = now
            return b""
        # the wire runs in real time: a tick that comes late (a loaded host) delivers what
        # went meanwhile, so bytes never arrive before their time and the rate holds
        self.credit += (now - self.last) * rate
        self.last = now
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
        self.seq = 0             # the chip's current open of this id (0: none this boot)
        self.lost_closed = 0     # bytes that reached the RX pin while no UART was open
        self.lost_socket = 0     # bytes the chip's socket could not take (chip not reading)
        self._held = bytearray()  # arrived after the open, before the chip's socket
        self._rng = random.Random(seed if seed is not None else uart_id)
        self._dir = {TO_CHIP: _Dir(), FROM_CHIP: _Dir()}
        self._last_poll = 0.0

    # --- the chip opens, configures, closes ------------------------------------------
    def configure(self, baud, bits, parity, stop, seq=None):
        """The chip's `uart` line: UART(...) or init() on this id."""
        if seq is not None and seq != self.seq:
            self._new_open(seq)
        self.open = True
        self.baudrate, self.bits, self.parity, self.stop = baud, bits, parity, stop
        if self.peer is not None:
            self.peer.on_open(baud, bits, None if parity == "N" else parity, stop)

    def closed(self, seq=None):
        """The chip's `uartoff` line: deinit()."""
        if seq is None or seq == self.seq:
            self.open = False
            self._held.clear()
            self._close_sock()

    def _new_open(self, seq):
        self.seq = seq
        self.open = True
        self._held.clear()
        if self.sock is not None and self._sock_seq != seq:
            self._close_sock()

    def byte_rate(self):
        frame = 1 + self.bits + (0 if self.parity == "N" else 1) + self.stop
        return self.baudrate / float(frame)

    def connect(self, sock, seq, first):
        """The chip's socket for open `seq` (of the current boot) is connected."""
        if seq < self.seq or (seq == self.seq and not self.open):
            sock.close()  # an open the chip has already replaced or closed
            return False
        if seq > self.seq:
            self._new_open(seq)  # the socket came before the chip's `uart` line
        self._close_sock()
        self.sock, self._sock_seq = sock, seq
        if self._held:
            held, self._held = bytes(self._held), bytearray()
            self._to_sock(held)
        if first:
            self._from_chip_bytes(first)
        return True

    def chip_reset(self):
        """The chip stopped (power cut, reset): its UARTs and its TX buffer are gone."""
        self._close_sock()
        self.open = False
        self.seq = 0
        self._held.clear()
        self._dir[FROM_CHIP].queue.clear()

    def disconnect(self):
        self._close_sock()

    def _close_sock(self):
        if self.sock is not None:
            self.board.loop.remove_reader(self.sock)
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def _from_chip_bytes(self, data):
        self._dir[FROM_CHIP].put(data, time.monotonic())

    def readable(self, sock):
        data = recv_nowait(sock)
        if data is None:
            return
        if not data:
            if sock is self.sock:
                self._close_sock()
            else:
                self.board.loop.remove_reader(sock)
                sock.close()
            return
        if sock is self.sock:
            self._from_chip_bytes(data)

    def _arrive(self, data):
        """Bytes reach the chip's RX pin now."""
        if not self.open:
            self.lost_closed += len(data)
        elif self.sock is None:
            self._held += data
        else:
            self._to_sock(data)

    def _to_sock(self, data):
        try:
            n = self.sock.send(data)
        except BlockingIOError:
            n = 0
        except OSError:
            self._close_sock()
            return
        # the socket holds far more than the chip's driver keeps (chip/_simuart.py): a full
        # one means the chip has not read for long and drops these anyway
        self.lost_socket += len(data) - n

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
            if d.queue:
                d.queue[0:0] = junk
            else:
                d.put(junk, self.board.now())
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
            if more:
                self._dir[TO_CHIP].put(more, now)
        rate = self.byte_rate()
        d = self._dir[TO_CHIP]
        out = d.take(now, rate)
        if out:
            out = self._apply_faults(d, out)
            if out:
                d.sent += len(out)
                d.sent_t = now
                self._arrive(out)
        d = self._dir[FROM_CHIP]
        out = d.take(now, rate)
        if out:
            out = self._apply_faults(d, out)
            d.sent += len(out)
            d.sent_t = now
            if out and self.peer is not None:
                self.peer.on_rx(out)

    def wait_delivered(self, n, direction=TO_CHIP, timeout=10.0):
        """Block until `n` bytes in all went out in `direction` (to the chip: reached its RX
        pin, so a read on the chip now sees them); the monotonic time the last one went."""
        d = self._dir[direction]
        deadline = time.monotonic() + timeout
        while d.sent < n:
            if time.monotonic() > deadline:
                raise TimeoutError("uart %d: %d of %d bytes went %s in %.1f s" % (self.id, d.sent, n, direction,
                                                                                     timeout))
            time.sleep(0.002)
        return d.sent_t


class UartServer:
    """Accepts the chip's UART sockets; the first line of each names the UART id."""

    def __init__(self, loop, links_for, boot):
        self.loop = loop
        self._links_for = links_for
        self._boot = boot  # () -> the current chip boot number
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
        try:
            uart_id, boot, seq = (int(x) for x in head.split())
        except ValueError:
            c.close()  # not a sim chip's UART
            return
        if boot != self._boot():
            c.close()  # from a chip that was reset meanwhile
            return
        link = self._links_for(uart_id)
        if link.connect(c, seq, rest):
            self.loop.add_reader(c, link.readable)

    def close(self):
        for c in list(self._pending):
            self.loop.remove_reader(c)
            c.close()
        self.loop.remove_reader(self._srv)
        self._srv.close()
