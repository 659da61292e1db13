"""Fakes for the net device tests: an in-process stream, the AT modem emulator driven
in-process (the same module the sim board's modem Peer wraps), a radio board, WLAN, PPP."""
import asyncio
import os
import sys
import time


def _find_emulator():
    for p in sys.path:
        d = p + "/tools/upile/sim/peers"
        try:
            os.stat(d + "/atmodem.py")
        except OSError:
            continue
        if d not in sys.path:
            sys.path.append(d)
        return


_find_emulator()
from atmodem import AtModem  # noqa: E402


class FakeClock:
    """Virtual time for the net classes (their `clock=`): ticks_ms() and async sleep_ms().

    Time moves only when every task is idle: one ticker task jumps to the earliest sleeper's
    deadline once asyncio's run queue holds nothing else, so a test of minutes of backoff
    runs in milliseconds and events keep their order on a loaded machine. Every instance
    shares one timeline (two tickers would each see the other runnable and never move).
    It starts just before ticks_ms wraps, so every comparison must use ticks_diff."""

    t = time.ticks_add(0, -30000)
    _sleepers = []  # [deadline, Event]
    _ticker = None

    def ticks_ms(self):
        return FakeClock.t

    async def sleep_ms(self, ms):
        if ms <= 0:
            await asyncio.sleep_ms(0)
            return
        ev = asyncio.Event()
        entry = [time.ticks_add(FakeClock.t, ms), ev]
        FakeClock._sleepers.append(entry)
        if FakeClock._ticker is None:
            FakeClock._ticker = asyncio.create_task(_tick())
        try:
            await ev.wait()
        finally:
            if entry in FakeClock._sleepers:
                FakeClock._sleepers.remove(entry)

    def elapsed(self, since):
        return time.ticks_diff(FakeClock.t, since)


async def _tick():
    sl = FakeClock._sleepers
    try:
        while sl:
            if asyncio.core._task_queue.peek() is not None:
                await asyncio.sleep_ms(0)  # someone can still run at this instant
                continue
            first = sl[0][0]
            for d, _ in sl:
                if time.ticks_diff(d, first) < 0:
                    first = d
            FakeClock.t = first
            for d, ev in sl:
                if time.ticks_diff(d, first) <= 0:
                    ev.set()
            await asyncio.sleep_ms(0)
    finally:
        FakeClock._ticker = None


async def within(clock, cond, timeout_ms, step_ms=5):
    """Wait (virtual time) until cond() is true; AssertionError after timeout_ms."""
    t0 = clock.ticks_ms()
    while not cond():
        if time.ticks_diff(clock.ticks_ms(), t0) >= timeout_ms:
            raise AssertionError("condition not met in %d ms" % timeout_ms)
        await clock.sleep_ms(step_ms)


class FakeStream:
    """What At() reads and writes: bytes fed by the test (or the emulator), TX captured."""

    def __init__(self, on_tx=None):
        self._rx = bytearray()
        self._ev = asyncio.Event()
        self.tx = bytearray()
        self.on_tx = on_tx

    async def readinto(self, buf):
        while not self._rx:
            self._ev.clear()
            await self._ev.wait()
        n = min(len(buf), len(self._rx))
        buf[:n] = self._rx[:n]
        self._rx = self._rx[n:]
        return n

    def write(self, data):
        if len(self.tx) < 4096:
            self.tx += data
        if self.on_tx:
            self.on_tx(bytes(data))

    async def drain(self):
        pass

    def feed(self, data):
        self._rx += data
        self._ev.set()


class FakePPP:
    def __init__(self, rig):
        self.rig = rig
        self.active = False
        self.starts = 0

    def start(self, user, key):
        self.active = True
        self.starts += 1
        self.rig.ppp_owner = True

    def stop(self):
        self.active = False
        self.rig.ppp_owner = False

    def isconnected(self):
        return self.active and self.rig.emu.data and self.rig.emu.power == "on"


class ModemRig:
    """AtModem in-process + the radio board interface the Modem driver uses."""

    PWRKEY = 4

    def __init__(self, clock=None, **kw):
        self.clock = clock or FakeClock()
        self._t0 = self.clock.ticks_ms()
        kw.setdefault("pwrkey_pin", self.PWRKEY)
        kw.setdefault("ready_s", 0.05)
        kw.setdefault("off_press_s", 0.1)
        kw.setdefault("on_press_s", 0.01)
        self.emu = AtModem(**kw)
        self.stream = FakeStream(on_tx=self._tx)
        self.ppp_owner = False
        self.presses = 0
        self.bytewise = False  # hand the emulator each write one byte at a time (a UART RX interrupt may)
        self._ppp = FakePPP(self)
        self._task = None

    def now_s(self):
        return time.ticks_diff(self.clock.ticks_ms(), self._t0) / 1000

    def _tx(self, data):
        self.emu.now = self.now_s()
        if self.bytewise:
            for i in range(len(data)):
                self.emu.on_rx(data[i:i + 1])
        else:
            self.emu.on_rx(data)  # in data mode the emulator only counts (and looks for +++)

    def start(self):
        self.emu.now = self.now_s()
        self.emu.on_power(True)
        self._task = asyncio.create_task(self._pump())

    def stop(self):
        if self._task:
            self._task.cancel()
            self._task = None

    async def _pump(self):
        while True:
            out = self.emu.poll(self.now_s())
            if out and not self.ppp_owner:
                self.stream.feed(out)
            await self.clock.sleep_ms(5)

    # --- radio board interface
    def modem_stream(self):
        return self.stream

    def pwrkey(self, on):
        self.emu.now = self.now_s()
        if on:
            self.presses += 1
        self.emu.on_pin(self.PWRKEY, 1 if on else 0)

    def ppp(self):
        return self._ppp


def modem_cfg(**kw):
    """The modem config section with defaults, timings shrunk so tests take seconds."""
    from firmware import config

    c = config.defaults()["modem"]
    c.update(sync_ms=100, ready_ms=800, pwron_ms=20, pwroff_ms=150, off_wait_ms=50,
             reg_timeout_ms=600, reg_poll_ms=50, dial_timeout_ms=500, ppp_timeout_ms=500,
             sim_wait_ms=200, cmd_timeout_ms=300, hard_retries=2, hard_backoff_ms=60000)
    c.update(kw)
    return c


class FakeWlan:
    """Wi-Fi station over a model of access points: {ssid: {"key", "rssi", "up"}}."""

    def __init__(self, aps=None, join_ms=30, clock=None):
        self.clock = clock or FakeClock()
        self.aps = aps if aps is not None else {}
        self.join_ms = join_ms
        self.on = False
        self.connects = 0
        self.configured = None
        self._ssid = None
        self._key = None
        self._t = 0
        self._joined = False

    def active(self, on):
        self.on = on

    def configure(self, hostname, static_ip, gateway, dns):
        self.configured = (hostname, static_ip, gateway, dns)

    def connect(self, ssid, key):
        self.connects += 1
        self._ssid, self._key, self._t, self._joined = ssid, key, self.clock.ticks_ms(), False

    def disconnect(self):
        self._ssid, self._joined = None, False

    def status(self):
        if self._ssid is None:
            return "idle"
        ap = self.aps.get(self._ssid)
        if self._joined:
            if ap is None or not ap["up"]:
                return "beacon_timeout"
            return "got_ip"
        if time.ticks_diff(self.clock.ticks_ms(), self._t) < self.join_ms:
            return "connecting"
        if ap is None or not ap["up"]:
            return "no_ap_found"
        if ap["key"] != self._key:
            return "wrong_password"
        self._joined = True
        return "got_ip"

    def isconnected(self):
        return self.on and self.status() == "got_ip"

    def rssi(self):
        ap = self.aps.get(self._ssid)
        return ap["rssi"] if ap else None


class World:
    """The backend as seen through each link: a probe that needs the link up and the
    backend reachable over that kind of link."""

    def __init__(self, clock=None):
        self.clock = clock or FakeClock()
        self.links = {}
        self.reachable = {"wifi": True, "cellular": True}
        self.probes = []

    async def probe(self, kind):
        await self.clock.sleep_ms(2)
        ok = self.links[kind].isup() and self.reachable[kind]
        self.probes.append((kind, ok))
        if len(self.probes) > 50:
            del self.probes[:25]
        return ok


def net_cfg(**kw):
    from firmware import config

    c = config.defaults()["net"]
    c.update(check_ms=20, probe_ms=200, probe_fail_ms=40, failover_ms=300, failback_ms=300,
             backoff_min_ms=20, backoff_max_ms=160, jitter_pct=20)
    c.update(kw)
    return c


def wifi_cfg(**kw):
    from firmware import config

    c = config.defaults()["wifi"]
    c.update(networks=[{"ssid": "office", "key": "secret-1"}, {"ssid": "home", "key": "secret-2"}],
             connect_timeout_ms=200)
    c.update(kw)
    return c
