"""Smoke, water and door sensors on the bridge's GPIOs 0, 1, 2 (front.alarms says which are
fitted; NC contacts: open = alarm, so a cut wire is one): debounced, self-tested at boot
where the part allows (a smoke detector with a TEST input on GPIO3), acted on, journalled,
reported.

Smoke or water: every port stops (reason EmergencyStop, cause smoke/water), the pile goes
Unavailable so no start is accepted from anyone (card, code, coin, back end), an alarm
event goes up (alarm.smoke / alarm.water {on, id}) and the voice says it. The door is an
event only unless front.alarms has 16. An alarm clears after its input has been normal for
10 s; the ports this module closed (only those) open again when no stopping alarm is left.

Every alarm change is journalled before it is published, and stays pending until a back
end acknowledges it (station.pending_alarms() / ack_alarm(id)): a pile offline during a
fire still reports it when it is next reachable. Records: "A id what on unix" (an alarm
change), "K id" (acknowledged), "T what ok" (self-test), "U 1,3,.." (the ports this module
made unavailable; "U -" none: ports an operator had closed stay closed).
"""
import asyncio
import time

import log
from firmware.station import Refused
from journal import Journal

_log = log.get("alarm")
_WHAT = ("smoke", "water", "door")
_POLL_MS = 100
_ALARM = 1  # the input level of an alarm: NC contacts open (a cut wire is an alarm too)
_KEEP = 8192


class Alarms:
    def __init__(self, cfg, station, bus, read_inputs, set_outputs=None, clock=time.ticks_ms,
                 path="/data/front/alarms.jnl", debounce_ms=500, clear_ms=10000, test_ms=3000):
        f = cfg["front"]
        self.station = station
        self.bus = bus
        self.read = read_inputs  # fn() -> byte of GPIO levels
        self.set_outputs = set_outputs
        self.clock = clock
        self.debounce_ms, self.clear_ms, self.test_ms = debounce_ms, clear_ms, test_ms
        fitted = f["alarms"]  # bits: 1 smoke, 2 water, 4 door, 8 smoke self-test, 16 the door stops
        self.io = {w: i for i, w in enumerate(_WHAT) if fitted & (1 << i)}  # sensor -> bridge GPIO
        self.test_io = 3 if fitted & 8 else -1
        self.stops = {"smoke": True, "water": True, "door": bool(fitted & 16)}
        self.active = {}  # what -> alarm id while on
        self._since = {}  # what -> ticks the raw input last changed
        self._raw = {}
        self.j = Journal(path, 96)
        self.next_id = 1
        self.closed = []  # ports this module made unavailable (and only these it reopens)
        self.pending = []  # ids not yet acknowledged, oldest first
        recs = {}
        for rec in self.j.records():
            w = rec.decode().split()
            if w[0] == "A":
                aid = int(w[1])
                recs[aid] = w
                self.next_id = max(self.next_id, aid + 1)
                if w[3] == "1":
                    self.active[w[2]] = aid
                else:
                    self.active.pop(w[2], None)
            elif w[0] == "K":
                recs.pop(int(w[1]), None)
            elif w[0] == "U":
                self.closed = [] if w[1] == "-" else [int(x) for x in w[1].split(",")]
            elif w[0] == "N":
                self.next_id = max(self.next_id, int(w[1]))
        self.pending = sorted(recs)
        self.testing = False
        self.test_result = None

    # ---- what the rest of the front and the back end ask
    def blocking(self):
        """The stopping alarm in force (its name) or None."""
        for w, aid in self.active.items():
            if self.stops.get(w):
                return w
        return None

    def pending_alarms(self, limit=20):
        out = []
        for rec in self.j.records():
            w = rec.decode().split()
            if w[0] == "A" and int(w[1]) in self.pending:
                out.append({"id": int(w[1]), "what": w[2], "on": w[3] == "1",
                            "unix": None if w[4] == "-" else int(w[4])})
                if len(out) >= limit:
                    break
        return out

    def ack(self, aid):
        if aid not in self.pending:
            return False
        self.j.append("K %d" % aid)
        self.pending.remove(aid)
        self._compact()
        return True

    # ---- the inputs
    def _level(self, bits, w):
        return 1 if bits & (1 << self.io[w]) else 0

    def _change(self, w, on):
        aid = self.next_id
        self.next_id += 1
        unix = self.bus.now()
        self.j.append("A %d %s %d %s" % (aid, w, 1 if on else 0, "-" if unix is None else unix))  # durable first
        self.pending.append(aid)
        if on:
            self.active[w] = aid
        else:
            self.active.pop(w, None)
        _log.warn("%s alarm %s (id %d)", w, "ON" if on else "cleared", aid)
        self.bus.publish("alarm." + w, {"on": on, "id": aid})
        if on and self.stops[w]:
            self.station.stop_all("EmergencyStop", w)
            self._close()
        elif not on and self.closed and self.blocking() is None:
            ports, self.closed = self.closed, []
            self.j.append("U -")
            for n in ports:
                self._available(n, True)

    def _close(self):
        """Every port that is open now becomes unavailable, journalled first."""
        opened = []
        for n in range(1, self.station.ports() + 1):
            try:
                if self.station.port(n).get("available"):
                    opened.append(n)
            except Refused:
                pass
        add = [n for n in opened if n not in self.closed]
        if add:
            self.closed = sorted(self.closed + add)
            self.j.append("U " + ",".join(str(n) for n in self.closed))
        for n in add:
            self._available(n, False)

    def _available(self, n, on):
        try:
            self.station.set_available(n, on)
        except Refused as e:  # no_pile: nothing charges anyway
            _log.warn("set_available(%d, %s): %s", n, on, e.code)

    def step(self, now=None):
        """One poll: debounce each input, act on changes. Returns the raw input byte."""
        now = self.clock() if now is None else now
        bits = self.read()
        if bits is None:
            return None
        for w in self.io:
            if self.testing and w == "smoke":
                continue
            raw = self._level(bits, w) == _ALARM
            if self._raw.get(w) != raw:
                self._raw[w] = raw
                self._since[w] = now
            held = time.ticks_diff(now, self._since[w])
            on = w in self.active
            if raw and not on and held >= self.debounce_ms:
                self._change(w, True)
            elif not raw and on and held >= self.clear_ms:
                self._change(w, False)
        return bits

    async def self_test(self):
        """Drive the smoke detector's test input: it must raise its alarm within test_ms and
        drop it again within test_ms of the release. Journalled and published either way."""
        t_io = self.test_io
        if t_io < 0 or "smoke" not in self.io or self.set_outputs is None:
            return None
        self.testing = True
        ok = False
        try:
            self.set_outputs(1 << t_io, 1 << t_io)
            ok = await self._until(True)
            self.set_outputs(1 << t_io, 0)
            ok = await self._until(False) and ok
        finally:
            self.set_outputs(1 << t_io, 0)
            self.testing = False
        self.test_result = ok
        self.j.append("T smoke %d" % (1 if ok else 0))
        if not ok:
            _log.error("smoke detector failed its self-test")
        self.bus.publish("alarm.selftest", {"what": "smoke", "ok": ok})
        return ok

    async def _until(self, want):
        t0 = self.clock()
        while time.ticks_diff(self.clock(), t0) < self.test_ms:
            bits = self.read()
            if bits is not None and (self._level(bits, "smoke") == _ALARM) == want:
                return True
            await asyncio.sleep_ms(_POLL_MS)
        return False

    def resume(self):
        """At boot: alarms left on by a power cut stay on until their inputs clear (step()
        does that); the pile stays unavailable meanwhile (its state is persisted anyway)."""
        if self.blocking() is not None:
            self._close()
        for w in self.active:
            self._raw[w] = True
            self._since[w] = self.clock()

    async def run(self, beat=None):
        self.resume()
        try:
            await self.self_test()
        except OSError as e:
            _log.error("smoke detector self-test: the bridge did not answer: %r", e)
        fails = 0
        while True:
            try:
                self.step()
                if fails >= 10:
                    _log.info("alarm inputs readable again")
                    self.bus.publish("alarm.sensors", {"on": False})
                fails = 0
            except OSError as e:  # the bridge's I2C: the sensors cannot be read
                fails += 1
                if fails == 10:  # ~1 s: say it once (the back end must know the pile is blind)
                    _log.error("alarm inputs unreadable: %r", e)
                    self.bus.publish("alarm.sensors", {"on": True, "reason": "bridge"})
            await asyncio.sleep_ms(_POLL_MS)

    def _compact(self):
        if self.j.size() < _KEEP:
            return
        keep_ids = set(self.pending) | set(self.active.values())
        # the flag and the next id first, kept with the open alarms: a cut in between loses nothing
        self.j.append("U " + (",".join(str(n) for n in self.closed) or "-"))
        self.j.append("N %d" % self.next_id)
        last, seen = self.j.count, [0]

        def keep(rec):
            seen[0] += 1
            w = rec.decode().split()
            return seen[0] > last - 2 or (w[0] == "A" and int(w[1]) in keep_ids)

        self.j.compact(keep)
