"""One I/O thread per sim board: sockets, the pty, and a ~2 ms tick for pacing and timers.

Every chip start and stop runs on this thread (`call`), so the chip's parent-death signal
is tied to a thread that lives as long as the board, and no two threads race a restart.
"""
import selectors
import socket
import threading
import time


def listen_loopback(backlog, port=0):
    """A non-blocking listening TCP socket on 127.0.0.1 (port 0: the kernel picks one)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(backlog)
    srv.setblocking(False)
    return srv


def recv_nowait(sock, n=65536):
    """What a ready socket holds: bytes; None if nothing is waiting after all; b"" when the
    peer closed or the socket failed (both mean: drop it)."""
    try:
        return sock.recv(n)
    except BlockingIOError:
        return None
    except OSError:
        return b""


class IOLoop:
    TICK = 0.002

    def __init__(self, name="sim-io"):
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, self._drain_wake)
        self._calls = []
        self._lock = threading.Lock()
        self._tickers = []
        self._stop = False
        self.error = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def add_reader(self, fileobj, callback):
        self._sel.register(fileobj, selectors.EVENT_READ, callback)

    def remove_reader(self, fileobj):
        try:
            self._sel.unregister(fileobj)
        except (KeyError, ValueError):
            pass

    def add_ticker(self, fn):
        self._tickers.append(fn)

    def _drain_wake(self, _sock):
        try:
            self._wake_r.recv(4096)
        except BlockingIOError:
            pass

    def in_loop(self):
        return threading.current_thread() is self._thread

    def call(self, fn, *args, timeout=30.0):
        """Run fn(*args) on the loop thread and return its result (or raise its error)."""
        if self.in_loop():
            return fn(*args)
        done = threading.Event()
        box = {}

        def job():
            try:
                box["r"] = fn(*args)
            except BaseException as e:  # handed back to the caller's thread
                box["e"] = e
            done.set()

        with self._lock:
            self._calls.append(job)
        self._wake_w.send(b"x")
        if not done.wait(timeout):
            raise TimeoutError("sim board I/O thread did not answer in %.0f s" % timeout)
        if "e" in box:
            raise box["e"]
        return box.get("r")

    def _run(self):
        next_tick = time.monotonic()
        while not self._stop:
            wait = max(0.0, next_tick - time.monotonic())
            for key, _ in self._sel.select(wait):
                try:
                    key.data(key.fileobj)
                except OSError:
                    self.remove_reader(key.fileobj)
            with self._lock:
                calls, self._calls = self._calls, []
            for job in calls:
                job()
            now = time.monotonic()
            if now >= next_tick:
                next_tick = now + self.TICK
                for fn in list(self._tickers):
                    fn(now)

    def close(self):
        if self._stop:
            return
        self._stop = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if not self.in_loop():
            self._thread.join(5)
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()
