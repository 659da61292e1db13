# heapsize: 1M
# timeout: 300
# A config the validator accepts builds every domain object: no constructor discovers a bad
# value (the reboot loops of old: ota.window "bad" passed the schema, then the OTA
# constructor raised on every boot). Candidates: every integer key at both ends of its range
# (on its own, the rest default), each string key's allowed values, and the table's good
# configs; those the validator accepts are built the way app.py builds them.
import os

import cfgtable
from chgsim import Clock, FakeBoard, physics
from firmware import config
from netfakes import FakeWlan

TMP = os.getenv("UPILE_TMP")


class _Cell:
    """A cellular link as LinkManager sees one (the modem itself is built separately)."""

    kind = "cellular"


def candidates():
    for sec in sorted(config.SCHEMA):
        for key in sorted(config.SCHEMA[sec]):
            typ, _, lo, hi = config.SCHEMA[sec][key]
            if typ is int:
                yield {sec: {key: lo}}
                yield {sec: {key: hi}}
            elif typ is bool:
                yield {sec: {key: True}}
                yield {sec: {key: False}}
    for order in ("wifi,cellular", "cellular,wifi", "wifi", "cellular"):
        yield {"net": {"order": order, "probe": "http"}}
    for mode in ("time", "tiers", "energy"):
        yield {"tariff": {"mode": mode}}
    for chip, baud in (("hlw8032", 4800), ("bl0942", 4800), ("bl0942", 9600), ("bl0939", 4800)):
        yield {"meter": {"chip": chip, "baud": baud}, "pile": {"ports": 16}}
    yield {"budget": {"defer": "all"}}
    yield {"ota": {"window": "23:59-00:00"}}
    for good in cfgtable.GOOD:
        yield good


def build(cfg):
    """Every object app.py builds from a config, with fakes where hardware would be."""
    from firmware.board import pins
    from firmware.charging.limits import Limits
    from firmware.charging.pile import Pile
    from firmware.charging.protect import TempGuard
    from firmware.charging.tariff import Tariff
    from firmware.meter import make
    from firmware.net.budget import Budget
    from firmware.net.link import LinkManager
    from firmware.net.modem import Modem
    from firmware.net.wifi import Wifi
    from firmware.ota import policy
    from firmware.ota.service import Ota

    pins.get(cfg["charging"]["board"])
    cost = Tariff(cfg["tariff"]).new_cost()
    cost.add(120000, 5000)
    cost.fen(5000)
    cost.covers(100, 5000)
    Limits(cfg["charging"])
    TempGuard(cfg["charging"])
    make(cfg["meter"]["chip"], cfg["meter"])
    c = dict(cfg, charging=dict(cfg["charging"], journal=TMP + "/build.jnl"))  # a folder the test owns
    n = cfg["pile"]["ports"]
    Pile(c, FakeBoard(n, physics.Plant(n), Clock(), cfg["meter"]["chip"], cfg["meter"]))
    Budget(cfg["budget"], TMP + "/usage.json")
    links = []
    order = cfg["net"]["order"]
    if "wifi" in order:
        links.append(Wifi(FakeWlan(), cfg["wifi"]))
    if "cellular" in order and cfg["modem"]["enabled"]:
        Modem(None, cfg["modem"])
        links.append(_Cell())
    LinkManager(links, cfg["net"], cfg["backend"])
    policy.Gate(lambda: False, cfg["ota"]["window"]).may_install()
    Ota(cfg, keyring={}, check=lambda *a: None)
    _front(cfg)


class _Part:
    """Any of the front's hardware objects (a stream, the panel, the coin count)."""

    def readinto(self, buf):
        return 0

    def write(self, data):
        return len(data)

    def value(self):
        return 0

    def keys(self):
        return ""

    def set_digit(self, i, v):
        pass

    def set_led(self, n, on):
        pass

    def show(self):
        pass


class _FrontHw:
    bridge = card = voice = panel = coins = _Part()
    missing = []

    def sensors(self):
        return 0

    def set_outputs(self, mask, value):
        pass


def _front(cfg):
    """The front as app.py builds it (every part, hardware faked), and the load check."""
    from firmware.bus import Bus
    from firmware.front.core import Front
    from firmware.front.loadcheck import LoadCheck
    from firmware.station import Station

    bus = Bus()
    st = Station(cfg, bus)
    front = Front(cfg, st, bus, _FrontHw(), root=TMP)
    front.status()
    LoadCheck(cfg, st, bus)


def test_every_config_the_validator_accepts_builds():
    built = refused = 0
    for partial in candidates():
        try:
            cfg = config.validate(partial)
        except config.ConfigError:
            refused += 1  # e.g. admit_w at 100000 above the default cap: the table has those
            continue
        try:
            build(cfg)
        except Exception as e:  # noqa: any exception here is the bug this test looks for
            raise AssertionError("%r validated, then a constructor raised %r" % (partial, e))
        built += 1
    # refused: a key at a range end that breaks a rule with another default (admit_w above
    # the cap, loadcheck.min_s beyond the window, front.quiet_volume above the volume...)
    assert built > 200 and refused < 45, (built, refused)
