"""The REPL's console (sys.stdin/sys.stdout) as an asyncio stream for the app's console
channel (firmware/proto/maint/console.py).

On an ESP32, stdin is the ring buffer the UART0 (or USB) interrupt fills; the interrupt
turns a Ctrl-C into a KeyboardInterrupt while main.py runs and never puts it in the
buffer, so reading here cannot swallow the Ctrl-C that mpremote and a human use to stop the
app. select.poll on sys.stdin says whether a byte waits (mp_hal_stdio_poll), and
sys.stdin.buffer.readinto reads it; readinto blocks until its buffer is full, so bytes are
read one at a time and only while poll says one waits: the event loop never blocks here.
On the sim (the Unix port) stdin is the pty whose Ctrl-C the tty turns into SIGINT, and
the poller waits on its file descriptor in the kernel, where the sim console's Ctrl-C gate
finds the chip (docs/sim.md).

Writes go to sys.stdout.buffer at once, like print() (blocking on the UART's speed: the
protocol keeps each line short); drain() only lets the other tasks run between lines.
"""
import asyncio
import io
import select
import sys

_POLLIN = 0x0001
_POLLOUT = 0x0004
_POLL = 3  # MP_STREAM_POLL
_FILENO = 10  # MP_STREAM_GET_FILENO: asked by the Unix port's poller only


def _binary(stream):
    return getattr(stream, "buffer", stream)  # MICROPY_PY_SYS_STDIO_BUFFER is on in ESP32 and Unix builds


class _Stdin(io.IOBase):
    """stdin for asyncio.StreamReader: read() returns what waits now (None if nothing)."""

    def __init__(self):
        self._src = _binary(sys.stdin)
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)
        self._one = bytearray(1)
        fileno = getattr(sys.stdin, "fileno", None)
        self._fd = fileno() if fileno is not None else -1

    def _waiting(self):
        for _ in self._poll.ipoll(0):  # ipoll: no list allocated per call
            return True
        return False

    def readinto(self, buf):
        n = 0
        while n < len(buf) and self._waiting():
            if not self._src.readinto(self._one):
                break  # end of input (a closed pipe; a board's console never ends)
            buf[n] = self._one[0]
            n += 1
        if n == 0 and not self._waiting():
            return None
        return n

    def read(self, n=-1):
        buf = bytearray(n if n > 0 else 32)
        k = self.readinto(buf)
        return None if k is None else bytes(buf[:k])

    def ioctl(self, req, arg):
        if req == _POLL:
            ret = arg & _POLLOUT
            if arg & _POLLIN and self._waiting():
                ret |= _POLLIN
            return ret
        if req == _FILENO and self._fd >= 0:
            return self._fd
        return -22  # EINVAL: not a request this stream answers


class Console:
    """read(n) (awaitable), write(b), drain(): what firmware/proto/maint's Server needs."""

    def __init__(self):
        self._reader = asyncio.StreamReader(_Stdin())
        self._out = _binary(sys.stdout)

    def read(self, n):
        return self._reader.read(n)

    def write(self, b):
        self._out.write(b)

    async def drain(self):
        await asyncio.sleep_ms(0)


def open_stream():
    """The console as a stream (one per app: two readers would split its bytes)."""
    return Console()
