"""A scriptable peer for tests: records what the chip sends, sends what the test queues,
and can echo. Thread-safe: tests call send()/received() from their own thread."""
import threading
import time

from upile.sim.peers import Peer


class LoopbackPeer(Peer):
    def __init__(self, echo=False):
        self.echo = echo
        self._lock = threading.Lock()
        self._out = bytearray()
        self._rx = bytearray()
        self.rx_times = []       # (t_monotonic, nbytes) per delivery from the chip
        self.opens = []          # (baudrate, bits, parity, stop) per chip open
        self.pins = []           # (pin, level) seen
        self.powered = None

    def send(self, data):
        """Queue bytes for the chip (paced by the harness)."""
        with self._lock:
            self._out += data

    def received(self):
        with self._lock:
            return bytes(self._rx)

    def clear(self):
        with self._lock:
            self._rx.clear()
            self.rx_times.clear()

    def wait_rx(self, n, timeout=10.0):
        """Block until at least n bytes came from the chip; all of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self._rx) >= n:
                    return bytes(self._rx)
            time.sleep(0.005)
        raise TimeoutError("peer got %d of %d bytes" % (len(self._rx), n))

    def on_open(self, baudrate, bits, parity, stop):
        self.opens.append((baudrate, bits, parity, stop))

    def on_rx(self, data):
        with self._lock:
            self._rx += data
            self.rx_times.append((time.monotonic(), len(data)))
            if self.echo:
                self._out += data

    def poll(self, now):
        with self._lock:
            if not self._out:
                return None
            out = bytes(self._out)
            self._out.clear()
            return out

    def on_pin(self, pin, level):
        self.pins.append((pin, level))

    def on_power(self, on):
        self.powered = on
