"""machine.UART on the sim chip: a socket to the harness, which paces the bytes at the
configured baud rate and hands them to the peer attached to this UART id.

An io.IOBase subclass answering ioctl(MP_STREAM_POLL), so asyncio.StreamReader(uart) and
StreamWriter work as on the ESP32. Timeouts follow the ESP32 port: read()/readinto()/
readline() wait up to `timeout` ms for data (extended by `timeout_char` after each byte)
and return None when nothing came.
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
        self._buf = bytearray()
        self._baud = 115200
        self._bits, self._parity, self._stop = 8, None, 1
        self._timeout = 0
        self._timeout_char = 0
        self._rxbuf = 256
        self._tx_done = time.ticks_ms()
        self.init(baudrate, bits, parity, stop, **kw)

    def init(self, baudrate=None, bits=None, parity=-1, stop=None, *, tx=None, rx=None, rts=None, cts=None,
             txbuf=None, rxbuf=None, timeout=None, timeout_char=None, invert=None, flow=None):
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
        _simlink.send("uart %d %d %d %s %d" % (self._id, self._baud, self._bits, _PARITY.get(self._parity, "N"),
                                               self._stop))

    def _open(self):
        port = os.getenv("UPILE_SIM_UART")
        if not port:
            raise OSError(19)  # ENODEV: no harness
        s = usocket.socket(usocket.AF_INET, usocket.SOCK_STREAM)
        s.connect(usocket.getaddrinfo("127.0.0.1", int(port))[0][-1])
        s.write(b"%d\n" % self._id)
        s.setblocking(False)
        self._sock = s
        self._poll = select.poll()
        self._poll.register(s, select.POLLIN)

    def deinit(self):
        if self._sock is not None:
            _simlink.send("uartoff %d" % self._id)
            self._sock.close()
            self._sock = None

    def _fill(self, wait_ms):
        """Move what the socket holds into the buffer; wait up to wait_ms for some."""
        if self._sock is None:
            raise OSError(9)
        if self._poll.poll(max(0, wait_ms)):
            try:
                chunk = self._sock.recv(1024)
            except OSError:
                return False
            if chunk:
                self._buf.extend(chunk)
                return True
        return False

    def any(self):
        self._fill(0)
        return len(self._buf)

    def _gather(self, n, stop_at_nl=False):
        if n == 0:
            return b""
        deadline = time.ticks_add(time.ticks_ms(), self._timeout)
        while True:
            if stop_at_nl:
                i = self._buf.find(b"\n")
                if i >= 0:
                    n = i + 1
            if n is not None and len(self._buf) >= n:
                break
            left = time.ticks_diff(deadline, time.ticks_ms())
            if self._fill(left if left > 0 else 0):
                if self._timeout_char:
                    more = time.ticks_add(time.ticks_ms(), self._timeout_char)
                    if time.ticks_diff(more, deadline) > 0:
                        deadline = more
                continue
            if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
                break
        if not self._buf:
            return None
        k = len(self._buf) if n is None else min(n, len(self._buf))
        out = bytes(self._buf[:k])
        self._buf = self._buf[k:]
        return out

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
            if arg & _POLLIN and (self._buf or self._fill(0)):
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
