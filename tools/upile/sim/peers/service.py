"""The technician's end of the service port (firmware/proto/maint): host code types command
lines and waits for the replies and the pile's `evt` lines.

Thread-safe: tests and the demo call command()/wait_event() from their own thread while
the harness's I/O thread calls on_rx()/poll(). Lines typed before the chip has opened its
UART are held (on a board they would be lost: nobody types before the prompt is there).
"""
import queue
import re
import threading
import time

from upile.sim.peers.loopback import LoopbackPeer

_MORE = re.compile(r"\bmore=(\d+)\s*$")


class ServiceTimeout(TimeoutError):
    pass


class ServicePeer(LoopbackPeer):
    """LoopbackPeer (raw bytes: received(), opens, ...) that speaks in lines."""

    def __init__(self):
        super().__init__()
        self._cmd_lock = threading.Lock()
        self._part = b""
        self._replies = queue.Queue()
        self._events = queue.Queue()
        self.lines = []  # every line the chip sent, in order (ok/err/evt/other)
        self.events = []  # every evt line, in order
        self.opened = threading.Event()

    # ---- host side
    def send(self, line):
        """Type one line (no reply awaited)."""
        super().send(line if isinstance(line, bytes) else line.encode() + b"\r\n")

    def command(self, line, timeout=5.0):
        """Type `line`, return its reply lines (`ok ...`/`err ...`, continuation lines too:
        K after `more=K`, up to the `ok end n=K` (or `err`) of a `stream=1` reply).
        Raises ServiceTimeout if the chip does not answer in time."""
        with self._cmd_lock:
            if not self.opened.wait(timeout):
                raise ServiceTimeout("the chip never opened the service UART")
            while not self._replies.empty():  # late replies of an earlier timed-out command
                self._replies.get_nowait()
            self.send(line)
            first = self._reply(line, timeout)
            out = [first]
            if first.startswith("ok ") and first.endswith(" stream=1"):  # until `ok end n=K` or an err
                while not (out[-1].startswith("ok end n=") or out[-1].startswith("err")):
                    out.append(self._reply(line, timeout))
                return out
            m = _MORE.search(first) if first.startswith("ok ") else None
            for _ in range(int(m.group(1)) if m else 0):
                out.append(self._reply(line, timeout))
            return out

    def ok(self, line, timeout=5.0):
        """command() that must succeed: the reply text after 'ok ' (first line)."""
        r = self.command(line, timeout)
        if not r[0].startswith("ok"):
            raise RuntimeError("%r -> %s" % (line, r[0]))
        return r[0][3:]

    def _reply(self, line, timeout):
        try:
            return self._replies.get(timeout=timeout)
        except queue.Empty:
            raise ServiceTimeout("no reply to %r within %.0f s" % (line, timeout))

    def next_event(self, timeout=5.0):
        """The next `evt ...` line not yet taken (text after 'evt '), or None on timeout."""
        try:
            return self._events.get(timeout=timeout)[4:]
        except queue.Empty:
            return None

    def mark(self):
        """Position in the event history, for wait_event(since=...)."""
        return len(self.events)

    def wait_event(self, pattern, timeout=10.0, since=0):
        """First event (text after 'evt ') at or after history position `since` matching the
        regex `pattern`: its match. Does not take events from next_event()'s queue."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        seen = since
        while True:
            evs = self.events[seen:]
            for ev in evs:
                m = rx.search(ev[4:])
                if m:
                    return m
            seen += len(evs)
            if time.monotonic() >= end:
                raise ServiceTimeout("no event like %r within %.0f s" % (pattern, timeout))
            time.sleep(0.02)

    # ---- harness side (I/O thread)
    def on_open(self, baudrate, bits, parity, stop):
        super().on_open(baudrate, bits, parity, stop)
        self.opened.set()

    def on_power(self, on):
        super().on_power(on)
        if not on:
            self.opened.clear()
            with self._lock:
                self._part = b""

    def on_rx(self, data):
        super().on_rx(data)
        with self._lock:
            buf = self._part + bytes(data)
            *done, self._part = buf.split(b"\n")
        for raw in done:
            line = raw.rstrip(b"\r").decode("ascii", "replace")
            if not line:
                continue
            self.lines.append(line)
            if line.startswith("evt "):
                self.events.append(line)
                self._events.put(line)
            elif line.startswith("ok") or line.startswith("err"):
                self._replies.put(line)

    def poll(self, now):
        return super().poll(now) if self.opened.is_set() else None
