# Port state machine and every stop condition, driven by the sim physics under micropython.
from chgsim import Rig, fast_cfg, physics
from firmware.charging.pile import ChargeError


def _bike(**kw):
    return physics.Bike(**kw)


def test_full_charge_walks_ocpp_statuses_and_stops_full():
    r = Rig(n=2)
    r.plant.ports[0].plug(_bike(cc_w=300, capacity_wh=40, soc=0.5))
    sid = r.pile.start(1, "full")
    assert r.pile.status(1) == "Preparing"
    assert r.run(4 * 3600, until=lambda: r.bills(1))
    b = r.bills(1)[0]
    assert b["id"] == sid and b["cause"] == "full" and b["reason"] == "Other"
    assert r.statuses(1) == ["Preparing", "Charging", "SuspendedEV", "Finishing", "Available"][: len(r.statuses(1))]
    r.run(2)
    assert r.statuses(1) == ["Preparing", "Charging", "SuspendedEV", "Finishing", "Available"]
    assert not r.plant.ports[0].relay
    assert 0 < b["energy_mwh"] <= r.plant.ports[0].energy_wh * 1000
    assert r.pile.is_idle()


def test_time_budget_stops_and_bills_flat_tariff():
    r = Rig(n=1)
    r.plant.ports[0].plug(_bike(capacity_wh=5000))
    r.pile.start(1, "time", 30)
    assert r.run(3600, until=lambda: r.bills(1))
    b = r.bills(1)[0]
    assert b["cause"] == "budget" and b["charged_s"] == 30 * 60
    assert b["fen"] == 30 * 100 // 240  # 1 yuan per 4 h, 30 min -> 12.5 fen, rounded down


def test_money_budget_refund_is_exact():
    r = Rig(n=1)
    r.plant.ports[0].plug(_bike(capacity_wh=400, soc=0.95))  # fills quickly
    r.pile.start(1, "money", 100)
    assert r.run(4 * 3600, until=lambda: r.bills(1))
    b = r.bills(1)[0]
    assert b["cause"] == "full"
    assert b["fen"] == b["charged_s"] * 1000 * 100 // (240 * 60000)
    assert b["refund"] == 100 - b["fen"] and b["refund"] > 0


def test_money_budget_used_up():
    r = Rig(n=1)
    r.plant.ports[0].plug(_bike(capacity_wh=50000))
    r.pile.start(1, "money", 10)  # 10 fen = 24 min at 1 yuan / 4 h
    assert r.run(3600, until=lambda: r.bills(1))
    b = r.bills(1)[0]
    assert b["cause"] == "budget" and b["fen"] == 10 and b["refund"] == 0
    assert b["charged_s"] == 24 * 60


def test_energy_budget():
    r = Rig(n=1)
    r.plant.ports[0].plug(_bike(cc_w=360, capacity_wh=50000))
    r.pile.start(1, "energy", 30)  # 30 Wh at 360 W: 5 min
    assert r.run(3600, until=lambda: r.bills(1))
    b = r.bills(1)[0]
    assert b["cause"] == "budget" and 30000 <= b["energy_mwh"] <= 30000 + 360 * 1000 // 3600 * 2
    assert 290 <= b["charged_s"] <= 310


def test_nothing_plugged_stops_no_load():
    r = Rig(n=1)
    r.pile.start(1, "full")
    assert r.run(120, until=lambda: r.bills(1))
    b = r.bills(1)[0]
    assert b["cause"] == "no_load" and b["fen"] == 0 and b["charged_s"] == 0
    assert r.statuses(1)[:2] == ["Preparing", "Finishing"]


def test_unplugged_while_charging():
    r = Rig(n=1)
    r.plant.ports[0].plug(_bike(capacity_wh=5000))
    r.pile.start(1, "time", 240)
    r.run(300)
    assert r.pile.status(1) == "Charging"
    r.plant.ports[0].unplug()
    assert r.run(60, until=lambda: r.bills(1))
    b = r.bills(1)[0]
    assert b["reason"] == "EVDisconnected" and b["cause"] == "unplugged"
    assert 300 <= b["charged_s"] <= 300 + 12


def test_over_power_opens_relay_on_the_first_reading():
    r = Rig(n=2, step_ms=100)
    for i in range(2):
        r.plant.ports[i].plug(_bike(capacity_wh=5000))
        r.pile.start(i + 1, "full")
    r.run(5)
    r.plant.ports[0].extra_w = 2500.0  # a heater on the outlet
    r.clock.advance(100)
    r.pile.step()  # the physics moves, the meter reports it: one metering period
    assert not r.plant.ports[0].relay
    b = r.bills(1)[0]
    assert b["cause"] == "over_power" and b["reason"] == "Other"
    assert r.plant.ports[1].relay and r.pile.status(2) == "Charging"


def test_over_temperature_stops_all_and_recovers():
    r = Rig(n=3)
    for i in range(3):
        r.plant.ports[i].plug(_bike(capacity_wh=5000))
        r.pile.start(i + 1, "full")
    r.run(30)
    r.plant.temps_c[0] = 85.0
    r.run(5)
    assert r.pile.status(1) == "Charging"  # one hot sample is filtered
    r.run(6)
    assert [b["cause"] for b in r.bills()] == ["pile_over_temperature"] * 3
    assert all(r.pile.status(i) == "Faulted" for i in (1, 2, 3))
    try:
        r.pile.start(1, "full")
        raise AssertionError("start accepted while hot")
    except ChargeError as e:
        assert e.args[0] == "port_faulted"
    r.plant.temps_c[0] = 75.0  # within hysteresis: still hot
    r.run(15)
    assert r.pile.status(1) == "Faulted"
    r.plant.temps_c[0] = 60.0
    r.run(10)
    assert all(r.pile.status(i) == "Available" for i in (1, 2, 3))


def test_remote_and_local_stop():
    r = Rig(n=2)
    for i in range(2):
        r.plant.ports[i].plug(_bike(capacity_wh=5000))
        r.pile.start(i + 1, "money", 100)
    r.run(600)
    b1 = r.pile.stop(1)
    b2 = r.pile.stop(2, "Local", "button")
    assert (b1["reason"], b2["reason"], b2["cause"]) == ("Remote", "Local", "button")
    assert b1["refund"] == 100 - b1["fen"]
    try:
        r.pile.stop(1)
        raise AssertionError("second stop accepted")
    except ChargeError as e:
        assert e.args[0] == "no_session"


def test_stuck_relay_faults_the_port():
    r = Rig(n=1)
    r.plant.ports[0].plug(_bike(capacity_wh=5000))
    r.pile.start(1, "time", 5)
    r.plant.ports[0].stuck = True  # contacts weld
    assert r.run(600, until=lambda: r.bills(1))
    r.run(2)
    assert r.pile.status(1) == "Faulted" and r.pile.info(1)["fault"] in ("relay_readback", "relay_welded")


def test_silent_meter_faults_the_port_and_clears():
    r = Rig(n=1)
    r.plant.ports[0].plug(_bike(capacity_wh=5000))
    r.pile.start(1, "full")
    r.run(60)
    r.plant.ports[0].silent = True
    r.run(5)
    assert r.bills(1)[0]["cause"] == "meter_silent" and r.pile.status(1) == "Faulted"
    assert not r.plant.ports[0].relay
    r.plant.ports[0].silent = False
    r.run(3)
    assert r.pile.status(1) == "Faulted"  # readings are back, but not yet for fault_clear_s
    r.run(r.cfg["charging"]["fault_clear_s"])
    assert r.pile.status(1) == "Available"
    err = [d for k, p, d in r.events if k == "port.status" and d["status"] == "Faulted"]
    assert err[0]["error"] == "PowerMeterFailure" and err[0]["cause"] == "meter_silent"


def test_refusals_have_reason_codes():
    r = Rig(n=2)
    for args, code in (((3, "full"), "no_such_port"), ((1, "gold", 5), "bad_budget"), ((1, "money", 0), "bad_budget")):
        try:
            r.pile.start(*args)
            raise AssertionError("accepted %r" % (args,))
        except ChargeError as e:
            assert e.args[0] == code
    r.pile.start(1, "full")
    try:
        r.pile.start(1, "full")
        raise AssertionError("double start")
    except ChargeError as e:
        assert e.args[0] == "port_busy"
    r.pile.set_available(2, False)
    assert r.pile.status(2) == "Unavailable"
    try:
        r.pile.start(2, "full")
        raise AssertionError("start on unavailable port")
    except ChargeError as e:
        assert e.args[0] == "unavailable"


def test_reservation_holds_port_and_expires():
    r = Rig(n=1)
    r.pile.reserve(1, "card-7", expire_s=60)
    assert r.pile.status(1) == "Reserved"
    try:
        r.pile.start(1, "full", tag="other")
        raise AssertionError("someone else took a reserved port")
    except ChargeError as e:
        assert e.args[0] == "reserved"
    r.run(61)
    assert r.pile.status(1) == "Available"
    r.pile.reserve(1, "card-7", expire_s=60)
    r.plant.ports[0].plug(_bike(capacity_wh=5000))
    r.pile.start(1, "full", tag="card-7")
    assert r.pile.status(1) == "Preparing"


def test_a_reservation_for_a_parent_group_and_its_replacement_by_the_same_id():
    r = Rig(n=2)
    r.pile.reserve(1, "mum", expire_s=60, reservation=7, parent="family")
    assert r.pile.info(1)["reservation"] == 7
    for tag, parent in (("stranger", None), ("stranger", "other"), ("kid", None)):
        try:
            r.pile.start(1, "full", tag=tag, parent=parent)
            raise AssertionError("%s (%s) took a reserved port" % (tag, parent))
        except ChargeError as e:
            assert e.args[0] == "reserved"
    # the same reservation id again: replaced (a new expiry), another id: the port is busy
    r.run(50)
    r.pile.reserve(1, "mum", expire_s=60, reservation=7, parent="family")
    try:
        r.pile.reserve(1, "dad", expire_s=60, reservation=8)
        raise AssertionError("a second reservation on one port")
    except ChargeError as e:
        assert e.args[0] == "port_busy"
    r.run(50)
    assert r.pile.status(1) == "Reserved"  # 100 s after the first: the replacement holds
    r.plant.ports[0].plug(_bike(capacity_wh=5000))
    sid = r.pile.start(1, "full", tag="kid", parent="family")
    assert r.pile.info(1)["reservation"] is None and r.pile.info(1)["id_tag"] == "kid"
    r.run(5)
    r.pile.stop(1, "Local", "card")
    assert r.bills(1)[-1]["reservation"] == 7 and r.bills(1)[-1]["id"] == sid


def test_scheduled_start_off_peak():
    r = Rig(n=1)
    r.plant.ports[0].plug(_bike(capacity_wh=5000))
    r.pile.schedule(1, "time", 10, start_in_s=120, tag="night")
    r.run(100)
    assert r.pile.status(1) == "Reserved" and not r.plant.ports[0].relay
    r.run(30)
    assert r.pile.status(1) == "Charging"
    assert r.run(700, until=lambda: r.bills(1))
    assert r.bills(1)[0]["id_tag"] == "night" and r.bills(1)[0]["charged_s"] == 600


def test_ticks_wrap_during_session():
    r = Rig(n=1)
    assert r.clock.t > 0x3FFFFFFF - 40000 or r.clock.t > 0  # starts 30 s before the wrap
    r.plant.ports[0].plug(_bike(capacity_wh=5000))
    r.pile.start(1, "time", 2)
    assert r.run(300, until=lambda: r.bills(1))
    assert r.bills(1)[0]["charged_s"] == 120


def test_garbage_on_the_meter_line_does_not_disturb_billing():
    from chgsim import Rand

    r = Rig(n=1)
    r.board.garbage = Rand(5)
    r.plant.ports[0].plug(_bike(cc_w=360, capacity_wh=50000))
    r.pile.start(1, "energy", 20)
    assert r.run(3600, until=lambda: r.bills(1))
    b = r.bills(1)[0]
    assert b["cause"] == "budget" and 20000 <= b["energy_mwh"] <= r.plant.ports[0].energy_wh * 1000


def test_a_hot_pile_keeps_its_ports_faulted_whatever_else_clears():
    r = Rig(n=1)
    r.plant.ports[0].silent = True
    r.run(5)
    assert r.pile.info(1)["fault"] == "meter_silent"
    r.plant.temps_c[0] = 95.0
    r.run(15)
    assert r.pile.info(1)["error"] == "HighTemperature"
    r.plant.ports[0].silent = False  # the meter comes back while the pile is still hot
    r.run(r.cfg["charging"]["fault_clear_s"] + 5)
    assert r.pile.status(1) == "Faulted" and r.pile.info(1)["fault"] == "pile_over_temperature"
    r.plant.temps_c[0] = 25.0
    r.run(15)
    assert r.pile.status(1) == "Available"
    seen = [(d["status"], d["error"]) for k, p, d in r.events if k == "port.status"]
    # a back end saw each change of the error code, not only changes of status
    assert seen == [("Faulted", "PowerMeterFailure"), ("Faulted", "HighTemperature"), ("Available", "NoError")], seen
