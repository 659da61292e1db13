"""The console: the chip's pty bridged to a TCP port (real `mpremote connect
socket://127.0.0.1:PORT` works), a log of everything the chip printed, and a raw-REPL
client for `SimBoard.exec`.

Output is "cooked" as the ESP32's UART console does it (a lone \\n becomes \\r\\n). The
bridge watches the REPL mode (friendly `>>> ` or raw) so a soft reset started from the raw
REPL comes back to the raw REPL, as a board's does.
"""
import os
import re
import socket
import threading
import time

from upile.sim.ioloop import listen_loopback, recv_nowait

_RAW_BANNER = b"raw REPL; CTRL-B to exit"
# Ctrl-C reaches the chip as SIGINT, and this Unix port raises KeyboardInterrupt straight
# from the signal handler (MICROPY_ASYNC_KBD_INTR), wherever the chip is: inside the garbage
# collector that leaves the heap locked for good, inside littlefs or the flash block device
# it crashes the chip ("FATAL: uncaught NLR"). An ESP32 raises it at the next bytecode
# instead. So the bridge hands a Ctrl-C over while the chip waits in the kernel (sleep,
# poll, reading the console), as firmware loops do every few ms, and only after
# _SAFE_WAIT seconds of running without a wait does it send it anyway.
_SAFE_WAIT = 1.0
# syscalls a chip waits in (x86_64, aarch64): read (fd 0 only), poll, select, nanosleep,
# clock_nanosleep, epoll_wait, pselect6, ppoll, epoll_pwait
_WAITS = {
    "x86_64": ({0}, {7, 23, 35, 230, 232, 270, 271, 281}),
    "aarch64": ({63}, {72, 73, 101, 115, 22}),
}.get(os.uname().machine, (set(), set()))


def waiting_in_kernel(pid):
    """True if process `pid` is blocked in a wait (a safe place to interrupt it)."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            fields = f.read().split()
    except OSError:
        return False
    if not fields or fields[0] in ("running", "-1"):
        return False
    nr = int(fields[0])
    if nr in _WAITS[0]:
        return int(fields[1], 16) == 0
    return nr in _WAITS[1]


def switches(pid):
    """How many times process `pid` was switched out (it ran in between); None if gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            text = f.read()
    except OSError:
        return None
    n = 0
    for line in text.splitlines():
        if "ctxt_switches:" in line:  # voluntary and nonvoluntary
            n += int(line.split()[-1])
    return n


class ConsoleError(Exception):
    pass


class Console:
    def __init__(self, loop, log_path, port=0):
        self.loop = loop
        self._srv = listen_loopback(4, port)
        self.port = self._srv.getsockname()[1]
        self._clients = []
        self._master = None
        self._held = False
        self._ctrl_c_sw = None   # the chip's switch count when the last Ctrl-C went over
        self._ctrl_c_due = 0.0
        self.chip_pid = None
        self._to_chip = bytearray()
        self._prev = b""
        self._text = bytearray()
        self._cond = threading.Condition()
        self._log = open(log_path, "ab", buffering=0)
        self.mode = "friendly"
        self._tail = b""
        self.on_eof = None
        loop.add_reader(self._srv, self._accept)
        loop.add_ticker(self._tick)

    # --- chip side -------------------------------------------------------------------
    def attach(self, master_fd, pid=None, keep_input=False):
        """A new chip process on `master_fd`. What was typed and not yet handed over is
        dropped (the board reset), unless `keep_input` (the chip only restarted its REPL)."""
        self._master = master_fd
        self.chip_pid = pid
        if not keep_input:
            self._to_chip.clear()
        self._ctrl_c_sw = None
        self._ctrl_c_due = 0.0
        # input waits until the chip's startup script runs (its SIGINT handler is set):
        # a Ctrl-C before that would kill the Unix port, never a board
        self._held = True
        self.loop.add_reader(master_fd, self._from_chip)

    def detach(self):
        if self._master is not None:
            self.loop.remove_reader(self._master)
            self._master = None
        self._to_chip.clear()

    def _from_chip(self, fd):
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.loop.remove_reader(fd)
            if self._master == fd:
                self._master = None
            if self.on_eof:
                self.on_eof()
            return
        self.emit(data)

    def drain(self, fd):
        """Read what a dead chip left in the pty before it goes."""
        if fd is None or fd != self._master:
            return
        for _ in range(64):
            try:
                data = os.read(fd, 65536)
            except (BlockingIOError, OSError):
                return
            if not data:
                return
            self.emit(data)

    def emit(self, data):
        """Show `data` on the console as the chip's output (cooked)."""
        out = bytearray()
        prev = self._prev
        for part in data.split(b"\n")[:-1]:
            out += part
            last = part[-1:] if part else prev
            out += b"\n" if last == b"\r" else b"\r\n"
            prev = b"\n"
        rest = data.rsplit(b"\n", 1)[-1] if b"\n" in data else data
        out += rest
        if rest:
            prev = rest[-1:]
        self._prev = prev
        out = bytes(out)
        self._watch_mode(out)
        self._log.write(out)
        with self._cond:
            self._text += out
            self._cond.notify_all()
        for c in list(self._clients):
            try:
                c.sendall(out)
            except OSError:
                # the client hung up (mpremote closes right after its last Ctrl-D, without
                # reading the banner the chip prints meanwhile): what it typed still counts
                self._drop(c, salvage=True)

    def _watch_mode(self, out):
        seen = self._tail + out
        i_raw = seen.rfind(_RAW_BANNER)
        i_fr = seen.rfind(b">>> ")
        if i_raw >= 0 or i_fr >= 0:
            self.mode = "raw" if i_raw > i_fr else "friendly"
        self._tail = seen[-40:]

    def to_chip(self, data):
        if self._master is None:
            return
        self._to_chip += data
        self._flush()

    def release(self):
        self._held = False
        self._flush()

    def _flush(self):
        # The tty keeps typed bytes until the chip reads them (as a UART's buffer does), so
        # they go over at once; only a Ctrl-C waits, for a safe place (see _SAFE_WAIT).
        while self._to_chip and self._master is not None and not self._held:
            cut = self._to_chip.find(b"\x03")
            if cut != 0:
                chunk = self._to_chip[:cut if 0 < cut < 1024 else 1024]
            elif self._ctrl_c_taken() and self._safe_to_interrupt():
                chunk = b"\x03"
                sw = switches(self.chip_pid) if self.chip_pid else None  # before it can run
            else:
                return
            try:
                n = os.write(self._master, chunk)
            except BlockingIOError:
                return
            except OSError:
                self._to_chip.clear()
                return
            if chunk == b"\x03" and n == 1:
                # Ctrl-Cs typed together are one interrupt, as on a board (its UART interrupt
                # sees them in one FIFO read); one typed after waits until the chip took this
                # one, so it never lands where the Unix port has no handler (REPL start-up)
                while n < len(self._to_chip) and self._to_chip[n] == 3:
                    n += 1
                self._ctrl_c_due = 0.0
                self._ctrl_c_sw = sw
            del self._to_chip[:n]

    def _ctrl_c_taken(self):
        """True once the chip ran after the last Ctrl-C (so it has raised KeyboardInterrupt
        or read the byte); _safe_to_interrupt then picks the instant for the next one."""
        if self._ctrl_c_sw is None or self.chip_pid is None:
            return True
        sw = switches(self.chip_pid)
        if sw is None or sw > self._ctrl_c_sw:
            self._ctrl_c_sw = None
            return True
        return False

    def _safe_to_interrupt(self):
        if self.chip_pid is None:
            return True
        now = time.monotonic()
        if not self._ctrl_c_due:
            self._ctrl_c_due = now + _SAFE_WAIT
        return now >= self._ctrl_c_due or waiting_in_kernel(self.chip_pid)

    def _tick(self, now):
        if self._to_chip:
            self._flush()

    def pending_input(self):
        return bytes(self._to_chip)

    # --- TCP side -----------------------------------------------------------------------
    def _accept(self, srv):
        try:
            c, _ = srv.accept()
        except BlockingIOError:
            return
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._clients.append(c)
        self.loop.add_reader(c, self._from_client)

    def _from_client(self, c):
        data = recv_nowait(c)
        if data is None:
            return
        if not data:
            self._drop(c)
            return
        self.to_chip(data)

    def _drop(self, c, salvage=False):
        if salvage:
            while True:
                data = recv_nowait(c)
                if not data:
                    break
                self.to_chip(data)
        self.loop.remove_reader(c)
        if c in self._clients:
            self._clients.remove(c)
        try:
            c.close()
        except OSError:
            pass

    # --- for tests ---------------------------------------------------------------------
    def clear(self):
        with self._cond:
            self._text = bytearray()
            self._tail = b""

    def text(self):
        with self._cond:
            return self._text.decode("utf-8", "replace")

    def mark(self):
        with self._cond:
            return len(self._text)

    def wait(self, pattern, timeout=10.0, start=0):
        """Block until regex `pattern` matches the output from byte `start`; the match."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self._text[start:].decode("utf-8", "replace"))
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0:
                    tail = self._text[-600:].decode("utf-8", "replace")
                    raise TimeoutError("console: no %r within %.1f s; last output:\n%s" % (rx.pattern, timeout, tail))
                self._cond.wait(min(left, 0.2))

    def wait_bytes(self, token, start, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                i = self._text.find(token, start)
                if i >= 0:
                    return i + len(token)
                left = deadline - time.monotonic()
                if left <= 0:
                    tail = bytes(self._text[-400:])
                    raise TimeoutError("console: no %r within %.1f s; last output: %r" % (token, timeout, tail))
                self._cond.wait(min(left, 0.2))

    def raw_exec(self, code, timeout=10.0):
        """Run `code` in the raw REPL (interrupting main.py, as mpremote does); its stdout.
        Raises ConsoleError with the chip's traceback if the code raised."""
        if isinstance(code, str):
            code = code.encode()
        start = self.mark()
        self.loop.call(self.to_chip, b"\r\x03\x03\x01")
        pos = self.wait_bytes(_RAW_BANNER + b"\r\n>", start, timeout)
        self.loop.call(self.to_chip, code + b"\x04")
        pos = self.wait_bytes(b"OK", pos, timeout)
        end_out = self.wait_bytes(b"\x04", pos, timeout)
        end_err = self.wait_bytes(b"\x04>", end_out, timeout)
        with self._cond:
            out = bytes(self._text[pos:end_out - 1])
            err = bytes(self._text[end_out:end_err - 2])
        self.loop.call(self.to_chip, b"\x02")
        if err:
            raise ConsoleError(err.decode("utf-8", "replace").replace("\r\n", "\n"))
        return out.decode("utf-8", "replace").replace("\r\n", "\n")

    def close(self):
        for c in list(self._clients):
            self._drop(c)
        self.loop.remove_reader(self._srv)
        self._srv.close()
        self._log.close()
