"""Device-test helpers for the front: a pile (chgsim Rig) behind a real Station and bus,
fake front hardware (a byte stream with a scripted module on the other end, a panel, a
pulse counter, an input byte), and a fresh journal folder per kit."""
import os

from chgsim import Rand, Rig, fast_cfg, physics  # noqa: F401  (physics for the tests)
from firmware.station import Station

_n = [0]


def tmpdir():
    _n[0] += 1
    d = "%s/front%d_%d" % (os.getenv("UPILE_TMP") or ".", _n[0], Rand(_n[0] * 7919 + 1).next() & 0xFFFF)
    try:
        os.mkdir(d)
    except OSError:
        pass
    return d


def front_cfg(**over):
    cfg = fast_cfg(**over)
    cfg["front"]["enabled"] = True
    return cfg


class Kit:
    """Pile + station + bus; the front's files in a fresh folder `dir` (Front(root=k.dir))."""

    def __init__(self, n=2, cfg=None, **over):
        self.dir = tmpdir()
        self.cfg = cfg or front_cfg(**over)
        self.rig = Rig(n=n, cfg=self.cfg)
        self.bus = self.rig.bus
        self.station = Station(self.cfg, self.bus, version="1.2.3")
        self.station.attach(pile=self.rig.pile)

    def path(self, name):
        return self.dir + "/" + name

    def plug(self, port, **kw):
        self.rig.plant.ports[port - 1].plug(physics.Bike(**kw))

    def topics(self, prefix=""):
        return [(t, d) for t, p, d in self.rig.events if t.startswith(prefix)]

    def says(self):
        """(key, port, why, fen) of every front.say event so far."""
        return [(d["key"], d.get("port"), d.get("why"), d.get("fen")) for t, d in self.topics("front.say")]


class Wire:
    """A byte stream as firmware/board/sc16is752.py's Channel: readinto/write that never
    block; what the firmware wrote is in .sent, what the module answers is queued with
    answer(); `fifo` caps what one write() takes (the chip's TX FIFO)."""

    def __init__(self, fifo=64):
        self.sent = bytearray()
        self.inbox = bytearray()
        self.fifo = fifo
        self.on_write = None  # fn(data): a scripted module reacting to what arrives

    def answer(self, data):
        self.inbox += data

    def readinto(self, buf):
        n = min(len(buf), len(self.inbox))
        buf[:n] = self.inbox[:n]
        self.inbox[:n] = b""
        return n

    def write(self, data):
        n = min(len(data), self.fifo)
        chunk = bytes(data[:n])
        self.sent += chunk
        if self.on_write is not None:
            self.on_write(chunk)
        return n


class FakePanel:
    def __init__(self):
        self.digits = bytearray(8)
        self.leds = bytearray(64)
        self.down = ""
        self.shows = 0

    def set_digit(self, i, segs):
        self.digits[i] = segs

    def set_led(self, L, on):
        self.leds[L] = 1 if on else 0

    def show(self):
        self.shows += 1

    def keys(self):
        return self.down


class Counter:
    def __init__(self):
        self.n = 0

    def value(self):
        return self.n
