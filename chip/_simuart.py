"""machine.UART on the sim chip: a socket to the harness, which paces the bytes at the
configured baud rate and hands them to the peer attached to this UART id.

An io.IOBase subclass answering ioctl(MP_STREAM_POLL), so asyncio.StreamReader(uart) and
StreamWriter work as on the ESP32. Timeouts follow the ESP32 port: read()/readinto()/
readline() wait up to `timeout` ms for data (extended by `timeout_char` after each byte)
and return None when nothing came.

Receive overflow as the ESP32's driver (ESP-IDF uart.c, MicroPython ports/esp32/
machine_uart.c): the RX interrupt moves each byte from the 128-byte hardware FIFO into
the `rxbuf` ring (MicroPython sets the FIFO threshold to 1 when timeout_char is under a
character time). When the ring is full, the byte it cannot take waits in the driver's
stash and RX interrupts stop; the FIFO fills, and on its overflow the driver resets it,
so what came meanwhile is lost in 129-byte steps. A read frees ring space, the stash goes
in and interrupts resume, handing the FIFO's bytes over in one piece. Bytes reach the
chip's socket at the baud rate, so all arrivals before a read are applied before it takes
anything: the same order as on the board. init() discards pending input (the current
machine_uart.c ends every init with uart_flush_input), and rxbuf must exceed the FIFO (128).
"""
import io
import os
import select
import time
import usocket
import _simlink

_POLLIN = 0x0001
_POLLOUT = 0x0004
_PARITY = {None: "N", 0: "E", 1: "O"}
_FIFO = 128
# what one socket read asks for: recv() allocates this much before it trims to what came,
# heap a real UART read (into the caller's buffer) never takes; small so the sim chip does
# not need contiguous kilobytes the app's own heap figures would then pay for
_CHUNK = 256
_BOOT = int(os.getenv("UPILE_SIM_BOOT") or "0")
_opens = [0]  # opens so far in this boot: each names its socket and lines to the harness


class UART(io.IOBase):
    INV_TX = 1
    INV_RX = 2
    INV_RTS = 4
    INV_CTS = 8
    RTS = 1
    CTS = 2
    IRQ_RXIDLE = 1
    IRQ_BREAK = 2

    def __init__(self, id, baudrate=115200, bits=8, parity=None, stop=1, **kw):
        if not 0 <= id <= 2:
            raise ValueError("UART(%d) does not exist" % id)
        self._id = id
        self._sock = None
        self._seq = 0
        self._buf = bytearray()   # the driver's rxbuf ring: what read() returns
        self._stash = None        # a handover the full ring refused (RX interrupts off)
        self._fifo = bytearray()  # the hardware FIFO while RX interrupts are off
        self._lost = 0            # bytes lost to overflow (sim only: the ESP32 counts none)
        self._baud = 115200
        self._bits, self._parity, self._stop = 8, None, 1
        self._timeout = 0
        self._timeout_char = 0
        self._rxbuf = 256
        self._tx_done = time.ticks_ms()
        self.init(baudrate, bits, parity, stop, **kw)

    def init(self, baudrate=None, bits=None, parity=-1, stop=None, *, tx=None, rx=None, rts=None, cts=None,
             txbuf=None, rxbuf=None, timeout=None, timeout_char=None, invert=None, flow=None):
        if rxbuf is not None and rxbuf <= _FIFO:
            raise OSError(1, "ESP_FAIL")  # uart_driver_install: "uart rx buffer length error"
        if baudrate is not None:
            if baudrate < 300 or baudrate > 5000000:
                raise ValueError("invalid baudrate")
            self._baud = baudrate
        if bits is not None:
            if bits not in (5, 6, 7, 8):
                raise ValueError("invalid data bits")
            self._bits = bits
        if parity != -1:
            self._parity = parity
        if stop is not None:
            if stop not in (1, 2):
                raise ValueError("invalid stop bits")
            self._stop = stop
        if timeout is not None:
            self._timeout = timeout
        if timeout_char is not None:
            self._timeout_char = timeout_char
        if rxbuf is not None:
            self._rxbuf = rxbuf
        if self._sock is None:
            self._open()
        self._discard()
        _simlink.send("uart %d %d %d %s %d %d" % (self._id, self._baud, self._bits, _PARITY.get(self._parity, "N"),
                                                  self._stop, self._seq))

    def _open(self):
        port = os.getenv("UPILE_SIM_UART")
        if not port:
            raise OSError(19)  # ENODEV: no harness
        _opens[0] += 1
        self._seq = _opens[0]
        s = usocket.socket(usocket.AF_INET, usocket.SOCK_STREAM)
        s.connect(usocket.getaddrinfo("127.0.0.1", int(port))[0][-1])
        s.write(b"%d %d %d\n" % (self._id, _BOOT, self._seq))
        s.setblocking(False)
        self._sock = s
        self._poll = select.poll()
        self._poll.register(s, select.POLLIN)

    def deinit(self):
        if self._sock is not None:
            _simlink.send("uartoff %d %d" % (self._id, self._seq))
            self._sock.close()
            self._sock = None

    def _discard(self):
        while self._recv(0):
            pass
        self._buf = bytearray()
        self._stash = None
        self._fifo = bytearray()

    # ---- receive: the socket is the wire, the rest is the driver ----
    def _recv(self, wait_ms):
        """One chunk from the socket (waiting up to wait_ms for it); None if none came."""
        if self._sock is None:
            raise OSError(9)
        if self._poll.poll(max(0, wait_ms)):
            try:
                chunk = self._sock.recv(_CHUNK)
            except OSError:
                return None
            return chunk or None
        return None

    def _fill(self, wait_ms):
        """Apply every byte that has arrived (waiting up to wait_ms for the first); True if
        any came."""
        chunk = self._recv(wait_ms)
        if chunk is None:
            return False
        while chunk is not None:
            self._arrive(chunk)
            chunk = self._recv(0)
        return True

    def _arrive(self, data):
        i, n = 0, len(data)
        while i < n:
            if self._stash is None:
                room = self._rxbuf - len(self._buf)
                if room > 0:
                    k = min(room, n - i)
                    self._buf.extend(data[i:i + k])
                    i += k
                else:
                    self._stash = data[i:i + 1]
                    i += 1
                continue
            total = len(self._fifo) + n - i
            keep = total % (_FIFO + 1)  # each overflow resets the FIFO: the 129th byte and those before go
            if keep != total:
                self._lost += total - keep
                _simlink.send("uartlost %d %d" % (self._id, self._lost))
            if keep == total:
                self._fifo.extend(data[i:])
            else:
                self._fifo = bytearray(data[n - keep:])
            return

    def _freed(self):
        """Ring space was freed by a read: the stash goes in, interrupts resume."""
        if self._stash is None or len(self._buf) + len(self._stash) > self._rxbuf:
            return
        self._buf.extend(self._stash)
        self._stash = None
        if self._fifo:
            chunk, self._fifo = self._fifo, bytearray()
            if len(self._buf) + len(chunk) <= self._rxbuf:
                self._buf.extend(chunk)
            else:
                self._stash = bytes(chunk)

    def _take(self, k):
        out = bytes(self._buf[:k])
        self._buf = self._buf[k:]
        self._freed()
        return out

    def any(self):
        self._fill(0)
        return len(self._buf)

    def _gather(self, n, stop_at_nl=False):
        if n == 0:
            return b""
        out = b""
        deadline = time.ticks_add(time.ticks_ms(), self._timeout)
        wait = 0
        while True:
            if self._fill(wait) and self._timeout_char:
                more = time.ticks_add(time.ticks_ms(), self._timeout_char)
                if time.ticks_diff(more, deadline) > 0:
                    deadline = more
            if self._buf:
                k = len(self._buf)
                if stop_at_nl:
                    i = self._buf.find(b"\n")
                    if i >= 0:
                        k = i + 1
                elif n is not None:
                    k = min(k, n - len(out))
                out += self._take(k)
                if stop_at_nl and out.endswith(b"\n") or n is not None and len(out) >= n:
                    break
                continue
            wait = time.ticks_diff(deadline, time.ticks_ms())
            if wait <= 0:
                break
        return out or None

    def read(self, n=None):
        return self._gather(n)

    def readinto(self, buf, n=None):
        want = len(buf) if n is None else min(n, len(buf))
        data = self._gather(want)
        if data is None:
            return None
        buf[: len(data)] = data
        return len(data)

    def readline(self):
        return self._gather(None, True)

    def write(self, buf):
        if self._sock is None:
            raise OSError(9)
        mv = memoryview(buf)
        total = len(mv)
        while mv:
            try:
                n = self._sock.send(mv)
            except OSError:
                n = 0
            if not n:
                select.poll().poll(1)
                continue
            mv = mv[n:]
        # bytes leave the pins at the baud rate: remember when the last one is out
        now = time.ticks_ms()
        start = self._tx_done if time.ticks_diff(self._tx_done, now) > 0 else now
        self._tx_done = time.ticks_add(start, total * self._frame_bits() * 1000 // self._baud + 1)
        return total

    def _frame_bits(self):
        return 1 + self._bits + (0 if self._parity is None else 1) + self._stop

    def flush(self):
        left = time.ticks_diff(self._tx_done, time.ticks_ms())
        if left > 0:
            time.sleep_ms(left)

    def txdone(self):
        return time.ticks_diff(self._tx_done, time.ticks_ms()) <= 0

    def sendbreak(self):
        pass

    def ioctl(self, req, arg):
        if req == 3:  # MP_STREAM_POLL
            ret = 0
            if arg & _POLLIN:
                self._fill(0)
                if self._buf:
                    ret |= _POLLIN
            if arg & _POLLOUT:
                ret |= _POLLOUT
            return ret
        if req == 4:  # MP_STREAM_CLOSE
            self.deinit()
            return 0
        return -1

    def close(self):
        self.deinit()

    def __repr__(self):
        return "UART(%d, baudrate=%d, bits=%d, parity=%s, stop=%d, timeout=%d, timeout_char=%d, rxbuf=%d)" % (
            self._id, self._baud, self._bits, self._parity, self._stop, self._timeout, self._timeout_char,
            self._rxbuf)
