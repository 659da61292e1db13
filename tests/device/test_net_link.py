# Link manager: Wi-Fi first, cellular fallback over the modem emulator, fail-back, backoff.
# Virtual time (netfakes.FakeClock): minutes of backoff and holds take milliseconds, and no
# bound below depends on how loaded the machine is.
import asyncio
import time

from firmware.net.link import LinkManager
from firmware.net.modem import Modem
from firmware.net.wifi import Wifi
from firmware import config
from firmware.bus import Bus
from netfakes import FakeClock, FakeWlan, ModemRig, World, modem_cfg, net_cfg, wifi_cfg

CLK = FakeClock()


class Rec:
    """The link events the manager publishes on the bus: (ticks, topic, link, data)."""

    def __init__(self):
        self.bus = Bus(clock=CLK.ticks_ms)
        self.sub = self.bus.subscribe("link.", size=1000)
        self._events = []

    @property
    def events(self):
        while True:
            ev = self.sub.get_nowait()
            if ev is None:
                return self._events
            self._events.append((ev.ms, ev.topic, ev.data["link"], ev.data))

    async def wait(self, event, kind, timeout_ms=5000):
        t0 = CLK.ticks_ms()
        n0 = len(self.events)
        while time.ticks_diff(CLK.ticks_ms(), t0) < timeout_ms:
            for e in self.events[n0:]:
                if e[1] == event and e[2] == kind:
                    return e[0]
            await CLK.sleep_ms(5)
        raise AssertionError("no %s %s in %d ms: %r" % (event, kind, timeout_ms, self.events[n0:]))


def build(order="wifi,cellular", ncfg=None, aps=None, **emu):
    wlan = FakeWlan({"home": {"key": "secret-2", "rssi": -61, "up": True}} if aps is None else aps, clock=CLK)
    wifi = Wifi(wlan, wifi_cfg(), clock=CLK)
    rig = ModemRig(clock=CLK, **emu)
    rig.start()
    cell = Modem(rig, modem_cfg(apn="cmnet"), clock=CLK)
    world = World(clock=CLK)
    world.links = {"wifi": wifi, "cellular": cell}
    rec = Rec()
    lm = LinkManager([wifi, cell], ncfg or net_cfg(order=order), config.defaults()["backend"],
                     probe=world.probe, bus=rec.bus, clock=CLK)
    return lm, wlan, rig, cell, world, rec


async def teardown_all(lm, rig):
    await lm.stop()
    rig.stop()


def test_bad_settings_are_named():
    # refused with the config (firmware/net/rules.py via config.validate), never by Wifi or
    # LinkManager at run time
    for bad, word in (([{"ssid": ""}], "ssid"), ([{"ssid": "a", "key": "short"}], "key"),
                      (["x"], "object"), ([{"ssid": "a", "pw": "x"}], "unknown")):
        try:
            config.validate({"wifi": {"networks": bad}})
            raise AssertionError("accepted %r" % bad)
        except config.ConfigError as e:
            assert e.args[0].startswith("wifi.networks[0]") and word in str(e), e
    try:
        config.validate({"net": {"order": "lte"}})
        raise AssertionError("accepted order lte")
    except config.ConfigError as e:
        assert e.args[0].startswith("net.order:")


async def test_wifi_first_then_failover_to_cellular_and_back():
    lm, wlan, rig, cell, world, rec = build()
    lm.start()
    await rec.wait("link.up", "wifi")
    assert lm.kind == "wifi" and lm.state == "up"
    assert rec.events[-1][3]["signal"] == -61
    assert rig.emu.commands == []  # cellular untouched while Wi-Fi works
    # the access point goes away
    t_loss = CLK.ticks_ms()
    wlan.aps["home"]["up"] = False
    t_up = await rec.wait("link.up", "cellular", 5000)
    down = [e for e in rec.events if e[1] == "link.down"]
    assert down[0][2] == "wifi" and down[0][3]["reason"] == "connection_lost"
    assert time.ticks_diff(t_up, t_loss) < 3000  # bound with these settings
    assert cell.isup() and lm.kind == "cellular"
    assert rec.events[-1][3]["signal"] == -73
    # the access point returns: Wi-Fi must stay up failback_ms before we switch back
    wlan.aps["home"]["up"] = True
    t_back = await rec.wait("link.up", "wifi", 5000)
    joined = wlan._t
    assert time.ticks_diff(t_back, joined) >= 300
    await CLK.sleep_ms(50)
    assert lm.kind == "wifi" and not cell.isup()  # cellular hung up: no paid data wasted
    assert [e[3]["reason"] for e in rec.events if e[1] == "link.down"] == ["connection_lost", "failback"]
    await teardown_all(lm, rig)


async def test_backend_unreachable_over_wifi_fails_over_after_the_delay():
    lm, wlan, rig, cell, world, rec = build(ncfg=net_cfg(failover_ms=400, failback_ms=60000))
    lm.start()
    await rec.wait("link.up", "wifi")
    t0 = CLK.ticks_ms()
    world.reachable["wifi"] = False  # associated, but the AP has no uplink
    t_down = await rec.wait("link.down", "wifi", 5000)
    assert time.ticks_diff(t_down, t0) >= 400
    assert rec.events[-1][3]["reason"] == "unreachable"
    await rec.wait("link.up", "cellular", 5000)
    # traffic reports keep a link judged up without probing
    n = len(world.probes)
    for i in range(10):
        lm.report(True)
        await CLK.sleep_ms(15)
    assert len(world.probes) == n
    await teardown_all(lm, rig)


async def test_cellular_only_and_wifi_only_orders():
    lm, wlan, rig, cell, world, rec = build(ncfg=net_cfg(order="cellular"))
    lm.start()
    await rec.wait("link.up", "cellular")
    assert wlan.connects == 0
    await teardown_all(lm, rig)
    lm, wlan, rig, cell, world, rec = build(ncfg=net_cfg(order="wifi"))
    lm.start()
    await rec.wait("link.up", "wifi")
    wlan.aps["home"]["up"] = False
    await rec.wait("link.down", "wifi")
    await CLK.sleep_ms(300)
    assert rig.emu.commands == [] and lm.state != "up"
    await teardown_all(lm, rig)


class DeadLink:
    def __init__(self, kind):
        self.kind = kind
        self.reason = None
        self.times = []

    async def up(self):
        self.times.append(CLK.ticks_ms())
        self.reason = "no_ap_found"
        return False

    async def down(self):
        pass

    def isup(self):
        return False

    def signal(self):
        return None

    def hold_ms(self):
        return 0


async def test_both_down_attempts_back_off_to_the_cap_while_charging_goes_on():
    wifi, cell = DeadLink("wifi"), DeadLink("cellular")
    lm = LinkManager([wifi, cell], net_cfg(backoff_min_ms=20, backoff_max_ms=200, jitter_pct=20),
                     config.defaults()["backend"], probe=World(clock=CLK).probe, clock=CLK)
    loops = [0]

    async def charging():
        while True:
            loops[0] += 1
            await CLK.sleep_ms(10)

    ch = asyncio.create_task(charging())
    lm.start()
    await CLK.sleep_ms(2000)
    for link in (wifi, cell):
        t = link.times
        gaps = [time.ticks_diff(t[i + 1], t[i]) for i in range(len(t) - 1)]
        assert gaps[0] < 60 and gaps[1] > gaps[0], gaps  # exponential growth
        assert all(g <= 210 for g in gaps), gaps  # never beyond the cap
        # in the last second (at the cap: 160-200 ms apart) at most 7 attempts
        recent = [x for x in t if time.ticks_diff(t[-1], x) < 1000]
        assert 4 <= len(recent) <= 7, (link.kind, len(recent), gaps)
    assert loops[0] >= 150, loops  # the 10 ms task kept its pace (~200 turns)
    assert lm.state == "down"
    await lm.stop()
    ch.cancel()


async def test_no_sim_on_the_fallback_is_held_not_retried_forever():
    lm, wlan, rig, cell, world, rec = build(aps={}, sim="absent")
    lm.start()
    await CLK.sleep_ms(2500)
    assert cell.reason == "sim_absent" and cell.hold_ms() > 0
    assert rig.emu.commands.count("AT+CPIN?") == 2  # hard_retries, then the long hold
    assert cell.power_cycles == 0
    assert wlan.connects >= 10  # Wi-Fi keeps being tried on its own backoff
    await teardown_all(lm, rig)


async def test_modem_hang_while_connected_recovers_by_power_cycle():
    lm, wlan, rig, cell, world, rec = build(aps={})
    lm.start()
    await rec.wait("link.up", "cellular", 5000)
    rig.emu.silent()
    await rec.wait("link.down", "cellular", 2000)
    await rec.wait("link.up", "cellular", 15000)
    assert cell.power_cycles == 1 and rig.emu.boots == 2
    await teardown_all(lm, rig)


async def test_quiet_healthy_link_is_not_failed_over():
    # probes only every probe_ms; a quiet period longer than failover_ms is not an outage
    lm, wlan, rig, cell, world, rec = build(ncfg=net_cfg(probe_ms=500, failover_ms=150))
    lm.start()
    await rec.wait("link.up", "wifi")
    await CLK.sleep_ms(1200)
    assert [e for e in rec.events if e[1] == "link.down"] == []
    assert lm.kind == "wifi" and 2 <= len(world.probes) <= 5, world.probes
    # a failed backend report makes the probes confirm it, then the switch
    world.reachable["wifi"] = False
    lm.report(False)
    await rec.wait("link.up", "cellular", 3000)
    await teardown_all(lm, rig)
