"""Device-test helpers for charging: the sim's physics and frame encoders (tools/upile/sim,
written to run under MicroPython too), a fake clock and a fake ports board."""
import sys
import time

from prng import XorShift


def _sim_dir():
    for p in sys.path:
        if p and p != ".frozen":
            try:
                import os

                os.stat(p + "/tools/upile/sim/physics.py")
                return p + "/tools/upile/sim"
            except OSError:
                pass
    raise ImportError("tools/upile/sim not found on sys.path")


if _sim_dir() not in sys.path:
    sys.path.append(_sim_dir())

import frames  # noqa: E402
import physics  # noqa: E402


Rand = XorShift  # deterministic PRNG shared by the device tests


class Clock:
    """Injectable ticks_ms clock; starts just before the ticks wrap to exercise it."""

    def __init__(self, start=None):
        self.t = time.ticks_add(0, -30000) if start is None else start

    def __call__(self):
        return self.t

    def advance(self, ms):
        self.t = time.ticks_add(self.t, ms)


class FakeBoard:
    """The ports-board interface over the sim physics: relays drive the plant's contacts,
    meter frames are encoded from the plant and parsed by the real firmware parsers."""

    def __init__(self, n, plant, clock, chip="hlw8032", meter_cfg=None):
        from firmware import config
        from firmware.meter import make

        mc = dict(config.defaults()["meter"])
        if meter_cfg:
            mc.update(meter_cfg)
        self.n = n
        self.plant = plant
        self.clock = clock
        self.chip = chip
        self.meters = [make(chip, mc) for _ in range(n)]
        self.encs = [frames.encoder(chip, mc, k) for k in range(n)]
        self.events = []  # (ticks, index, on)
        self.garbage = None  # Rand: mix garbage between frames
        self._last = clock()

    def relay(self, i, on):
        self.plant.ports[i].relay = on
        self.events.append((self.clock(), i, on))

    def readback(self, i):
        return self.plant.ports[i].contact()

    def taken_since(self, i):
        return self._last  # frames are made from the plant at the poll: measured then

    def channel(self, i):
        return self.meters[i].channels()[0]

    def all_off(self):
        for i in range(self.n):
            self.plant.ports[i].relay = False
        self.events.append((self.clock(), -1, False))

    def temps_dc(self):
        return [int(t * 10) for t in self.plant.temps_c]

    def poll(self):
        now = self.clock()
        dt = time.ticks_diff(now, self._last)
        self._last = now
        if dt > 0:
            self.plant.advance(dt / 1000)
        v = self.plant.mains_v
        for i in range(self.n):
            port = self.plant.ports[i]
            if port.silent:
                continue
            f = self.encs[i].frame(*port.reading(v))
            if self.garbage is not None:
                self.meters[i].feed(self.garbage.bytes(self.garbage.below(8)))
            self.meters[i].feed(f)
            if self.garbage is None:
                continue
            self.meters[i].feed(f)  # garbage breaks the chain: a second frame re-confirms


class MuxBoard(FakeBoard):
    """The 10-port PCB's metering as it really behaves: one UART behind a mux visiting each
    meter for `dwell_ms`, HLW8032 frames measured every `frame_ms` and complete only
    `frame_ms` later, so a frame measured before a relay edge can arrive after it. A reading
    needs two whole frames of its visit (the parser confirms the first by the second), and
    taken_since() is the visit's start, as firmware/board/ports.py reports it.

    The energy that really flowed while each relay was closed is the plant's ledger
    (physics.Port.intervals())."""

    def __init__(self, n, plant, clock, dwell_ms=120, frame_ms=55, readback=True):
        super().__init__(n, plant, clock)
        self.dwell_ms, self.frame_ms = dwell_ms, frame_ms
        self.cur = 0
        self.visit = clock()
        self.hist = [[] for _ in range(n)]  # (ticks, v, i, p, wh) at each poll
        self.sent = [0] * n  # measurement time of the next frame to deliver, per visit
        self.taken = [clock()] * n
        self.has_readback = readback

    def relay(self, i, on):
        self.plant.ports[i].relay = on  # (no event list: long tests make thousands of edges)

    def all_off(self):
        for i in range(self.n):
            self.relay(i, False)

    def readback(self, i):
        return self.plant.ports[i].contact() if self.has_readback else None

    def taken_since(self, i):
        return self.taken[i]

    def _at(self, i, t):
        """The plant's reading of port i at ticks t (the newest poll not after t)."""
        best = None
        for h in self.hist[i]:
            if time.ticks_diff(h[0], t) <= 0:
                best = h
        return best

    def poll(self):
        now = self.clock()
        dt = time.ticks_diff(now, self._last)
        self._last = now
        if dt > 0:
            self.plant.advance(dt / 1000)
        v = self.plant.mains_v
        for i in range(self.n):
            h = self.hist[i]
            h.append((now,) + self.plant.ports[i].reading(v))
            if len(h) > 6:  # enough to date a frame back one frame time plus a period
                h.pop(0)
        while True:
            i = self.cur
            if not self.plant.ports[i].silent:
                # frames of this visit: measured from the visit's start, every frame_ms,
                # delivered once complete (measured + frame_ms <= now)
                t = self.sent[i]
                while time.ticks_diff(time.ticks_add(t, self.frame_ms), now) <= 0 \
                        and time.ticks_diff(t, time.ticks_add(self.visit, self.dwell_ms)) < 0:
                    r = self._at(i, t)
                    if r is not None:
                        self.meters[i].feed(self.encs[i].frame(*r[1:]))
                        self.taken[i] = self.visit
                    t = time.ticks_add(t, self.frame_ms)
                self.sent[i] = t
            end = time.ticks_add(self.visit, self.dwell_ms)
            if time.ticks_diff(now, end) < 0:
                return
            self.cur = (i + 1) % self.n  # next meter: its first whole frame starts after the switch
            self.visit = end
            self.sent[self.cur] = end
            self.meters[self.cur].feed(b"\x00")  # the switch cuts a frame: the parser resyncs


def fast_cfg(**over):
    """Config with short thresholds (all configurable) so tests run hours in milliseconds."""
    from firmware import config

    cfg = config.defaults()
    c = cfg["charging"]
    c.update({"noload_s": 30, "unplug_s": 10, "unplug2_s": 60, "full_s": 120, "full_late_s": 60,
              "full_late_after_s": 3600, "full_min_s": 60, "float_s": 30, "checkpoint_s": 60,
              "resume_load_s": 30, "temp_check_s": 5, "temp_trips": 2})
    for k, v in over.items():
        sec, key = k.split("__")
        cfg[sec][key] = v
    return cfg


class Rig:
    """Pile + fake board + plant + clock + recorded events, for device tests."""

    def __init__(self, n=2, cfg=None, path=None, chip="hlw8032", sensors=1, step_ms=1000, board=None, keep=100000):
        import os
        from firmware.charging.pile import Pile

        self.cfg = cfg or fast_cfg()
        self.cfg["pile"]["ports"] = n
        tmp = os.getenv("UPILE_TMP") or "."
        self.path = path or tmp + "/chg%d.jnl" % Rand(time.ticks_us() & 0xFFFF).next()
        self.cfg["charging"]["journal"] = self.path
        self.clock = Clock()
        self.plant = physics.Plant(n, sensors)
        self.board = board(n, self.plant, self.clock) if board else FakeBoard(n, self.plant, self.clock, chip)
        self._board_kind = board
        self._events = []
        self.step_ms = step_ms
        self.keep = keep  # events the rig's subscription holds (older ones are dropped)
        self._new_bus()
        self.pile = Pile(self.cfg, self.board, clock=self.clock, bus=self.bus)

    def _new_bus(self):
        from firmware.bus import Bus

        self.wall = None  # set to unix seconds to give the pile a wall clock
        self.bus = Bus(wall=lambda: self.wall, clock=self.clock)
        self.sub = self.bus.subscribe(size=self.keep)

    def take(self):
        """Events since the last take(), not kept (long tests: the list would fill the heap)."""
        out = []
        while True:
            ev = self.sub.get_nowait()
            if ev is None:
                return out
            out.append((ev.topic, ev.data.get("port"), ev.data))

    @property
    def events(self):
        """(topic, port, data) of every bus event so far."""
        while True:
            ev = self.sub.get_nowait()
            if ev is None:
                return self._events
            self._events.append((ev.topic, ev.data.get("port"), ev.data))

    def reboot(self):
        """Power cut: a fresh board (meters restart at zero) and pile over the same journal."""
        from firmware.charging.pile import Pile

        b = self._board_kind
        self.board = b(self.board.n, self.plant, self.clock) if b else FakeBoard(self.board.n, self.plant, self.clock, self.board.chip)
        for p in self.plant.ports:
            p.relay = False
        self._events = []
        wall = self.wall
        self._new_bus()
        self.wall = wall
        self.pile = Pile(self.cfg, self.board, clock=self.clock, bus=self.bus)

    def run(self, seconds, until=None):
        n = seconds * 1000 // self.step_ms
        for _ in range(n):
            self.clock.advance(self.step_ms)
            self.pile.step()
            if until is not None and until():
                return True
        return False

    def statuses(self, port):
        return [d["status"] for k, p, d in self.events if k == "port.status" and p == port]

    def bills(self, port=None):
        return [d for k, p, d in self.events if k == "session.stopped" and (port is None or p == port)]
