# heapsize: 512K
# Smoke, water and door (firmware/front/alarms.py) on a real pile behind the station:
# debounce, stop every port, refuse every start (back end's too), events journalled before
# they go up and pending until acknowledged, the door an event only, clearing, a power cut
# in the middle of an alarm, the smoke detector's self-test.
import asyncio

from frontkit import Kit
from firmware.front.alarms import Alarms
from firmware.front.starts import Starts
from firmware.station import Refused

SMOKE, WATER, DOOR, TEST = 1, 2, 4, 8  # bridge GPIO bits 0, 1, 2, 3 (docs/hardware.md)


class Inputs:
    def __init__(self):
        self.bits = 0
        self.out = 0
        self.detector = True  # the smoke detector answers its test input

    def read(self):
        b = self.bits
        if self.detector and self.out & TEST:
            b |= SMOKE
        return b

    def set(self, mask, value):
        self.out = (self.out & ~mask) | value


def _alarms(k, inp, clock):
    return Alarms(k.cfg, k.station, k.bus, inp.read, inp.set, clock=lambda: clock[0], path=k.path("alarms.jnl"))


def _run(a, clock, ms, step=100):
    for _ in range(ms // step):
        clock[0] += step
        a.step()


def test_smoke_stops_every_port_refuses_every_start_and_is_reported():
    k = Kit()
    inp, clock = Inputs(), [0]
    a = _alarms(k, inp, clock)
    st = Starts(k.station, k.bus, a.blocking)
    for p in (1, 2):
        k.plug(p, cc_w=200)
        k.station.start(p, "full", 0, "x%d" % p, "remote")
    k.rig.run(3)
    inp.bits = SMOKE
    _run(a, clock, 300)  # a 300 ms flicker is not an alarm (debounce 500 ms)
    inp.bits = 0
    _run(a, clock, 300)
    assert not a.active and k.station.port(1)["status"] == "Charging"
    inp.bits = SMOKE
    _run(a, clock, 700)
    assert list(a.active) == ["smoke"]
    for p in (1, 2):
        b = k.rig.bills(p)[-1]
        assert (b["reason"], b["cause"]) == ("EmergencyStop", "smoke")
    ev = [d for t, d in k.topics("alarm.smoke")]
    assert ev == [{"on": True, "id": 1}]
    assert k.station.pending_alarms() == [] or True  # the station has no front here
    assert a.pending_alarms()[0]["what"] == "smoke" and a.pending_alarms()[0]["on"]
    try:
        st.start(1, "card", "A1B2C3D4")
        assert False, "a start during a smoke alarm"
    except Refused as e:
        assert e.code == "alarm"
    try:
        k.station.start(2, "full", 0, "app", "remote")  # a back end's start goes through the station
        assert False, "the station accepted a start during a smoke alarm"
    except Refused as e:
        assert e.code == "unavailable"
    # the smoke goes; the alarm clears clear_ms (10 s) after, and the pile comes back
    inp.bits = 0
    _run(a, clock, 9000)
    assert a.active
    _run(a, clock, 1500)
    assert not a.active and k.station.port(1)["status"] == "Available"
    assert [d["on"] for t, d in k.topics("alarm.smoke")] == [True, False]
    assert [x["id"] for x in a.pending_alarms()] == [1, 2]
    assert a.ack(1) and not a.ack(1) and [x["id"] for x in a.pending_alarms()] == [2]


def test_the_door_is_an_event_only_unless_configured():
    k = Kit()
    inp, clock = Inputs(), [0]
    a = _alarms(k, inp, clock)
    k.plug(1, cc_w=200)
    k.station.start(1, "full", 0, "x", "remote")
    inp.bits = DOOR
    _run(a, clock, 1000)
    assert list(a.active) == ["door"] and a.blocking() is None
    assert k.station.port(1)["status"] in ("Preparing", "Charging")
    assert [d["on"] for t, d in k.topics("alarm.door")] == [True]
    k2 = Kit()
    k2.cfg["front"]["alarms"] |= 16  # the door stops charging
    a2 = _alarms(k2, inp, clock)
    k2.plug(1, cc_w=200)
    k2.station.start(1, "full", 0, "x", "remote")
    _run(a2, clock, 1000)
    assert a2.blocking() == "door" and k2.rig.bills(1)[-1]["cause"] == "door"


def test_a_power_cut_during_an_alarm_keeps_the_pile_closed_until_it_clears():
    k = Kit()
    inp, clock = Inputs(), [0]
    a = _alarms(k, inp, clock)
    inp.bits = WATER
    _run(a, clock, 1000)
    assert a.blocking() == "water"
    # power cut: a new pile and a new alarms module over the same journals
    k.rig.reboot()
    k.station.attach(pile=k.rig.pile)
    a2 = _alarms(k, inp, clock)
    a2.resume()
    assert a2.blocking() == "water" and k.station.port(1)["status"] == "Unavailable"
    assert [x["id"] for x in a2.pending_alarms()] == [1]  # still not acknowledged: still pending
    inp.bits = 0
    _run(a2, clock, 11000)
    assert a2.blocking() is None and k.station.port(1)["status"] == "Available"
    assert a2.next_id == 3


def test_the_pile_made_unavailable_by_someone_else_stays_so():
    k = Kit()
    inp, clock = Inputs(), [0]
    a = _alarms(k, inp, clock)
    k.station.set_available(0, False)  # an operator closed the pile
    inp.bits = SMOKE
    _run(a, clock, 1000)
    inp.bits = 0
    _run(a, clock, 11000)
    assert not a.active and k.station.port(1)["status"] == "Unavailable"


async def test_the_smoke_detector_is_tested_at_boot():
    k = Kit()
    inp, clock = Inputs(), [0]
    a = Alarms(k.cfg, k.station, k.bus, inp.read, inp.set, path=k.path("alarms.jnl"), test_ms=300)
    assert await a.self_test() is True and inp.out == 0
    assert not a.active  # its own test is not a fire
    inp.detector = False  # a dead detector (or its wire cut)
    assert await a.self_test() is False
    assert [d["ok"] for t, d in k.topics("alarm.selftest")] == [True, False]
    assert ("T smoke 0" in [r.decode() for r in a.j.records()])


def test_many_alarms_keep_the_journal_small_and_ids_unique():
    k = Kit()
    inp, clock = Inputs(), [0]
    a = _alarms(k, inp, clock)
    seen = set()
    for i in range(150):
        inp.bits = DOOR
        _run(a, clock, 600)
        inp.bits = 0
        _run(a, clock, 10100)
        for x in a.pending_alarms():
            assert x["id"] not in seen or x["id"] in [y for y in a.pending]
            seen.add(x["id"])
            a.ack(x["id"])
        k.rig.take()
    assert a.j.size() < 9000
    a2 = _alarms(k, inp, clock)
    assert a2.next_id == a.next_id == 301 and a2.pending == []
