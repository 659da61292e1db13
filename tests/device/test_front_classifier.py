# heapsize: 512K
# timeout: 300
# Malicious-load detection: the classifier over a generated set of chargers and other
# loads (tests/device/loadgen.py: the sim's physics), and the watcher that stops a heater
# on a real pile through the station (cause not_a_charger) and never a charger.
import loadgen
from frontkit import Kit, physics
from firmware.front.classify import CHARGER, DEFAULTS, NOT_CHARGER, UNKNOWN, UNDECIDED, Classifier
from firmware.front.loadcheck import LoadCheck

CFG = DEFAULTS


def test_never_a_charger_flagged_and_nearly_every_other_load_caught():
    r = loadgen.measure(CFG, Classifier, n=80)
    n, flagged, unknown, times = r["charger"]
    assert flagged == 0, "chargers stopped: %d of %d" % (flagged, n)
    assert unknown <= n // 10
    for kind, least in (("heater", 0.97), ("kettle", 0.97), ("mix", 0.85)):
        n, flagged, unknown, times = r[kind]
        assert flagged >= least * n, (kind, flagged, n, unknown)
        assert max(times) <= CFG["window_s"] * 1000 and min(times) >= CFG["min_s"] * 1000


def test_a_steady_mains_leaves_a_pfc_charger_unknown_never_stopped():
    # without voltage movement only the PF and the power speak: big heaters are still
    # caught (PF 1 at 700 W and more), small ones and PFC chargers end unknown
    r = loadgen.measure(CFG, Classifier, n=40, steady=True)
    assert r["charger"][1] == 0
    assert r["kettle"][1] == 40


def _feed(cl, w, v_dv, pf, seconds, wobble=False):
    r = UNDECIDED
    for t in range(1, seconds + 1):
        r = cl.add(t * 1000, w, v_dv + (t % 7) * 3 if wobble and t % 2 == 0 else v_dv, pf)
        if r:
            return r
    return r


def test_the_rules_at_their_edges():
    assert _feed(Classifier(CFG), 200, 2200, 600, 60) == CHARGER  # PF 0.6: a charger at min_s
    assert _feed(Classifier(CFG), 1500, 2200, 995, 60) == NOT_CHARGER  # PF 1 at 1.5 kW
    assert _feed(Classifier(CFG), 400, 2200, 990, 300) == UNKNOWN  # PF 1 at 400 W, steady mains
    # the same with the mains moving: its power does not follow: a charger with PFC
    assert _feed(Classifier(CFG), 400, 2200, 990, 300, wobble=True) == CHARGER
    cl = Classifier(CFG)
    assert _feed(cl, 10, 2200, 990, 300) == UNDECIDED and cl.n == 0  # below min_w: nothing judged
    cl = Classifier(CFG)
    for t in range(1, 60):  # a resistive load: P follows V squared over clear voltage steps
        v = 2200 + (30 if (t // 5) % 2 else -30)
        w = int(300 * (v / 2200) ** 2)
        if cl.add(t * 1000, w, v, 995):
            break
    assert cl.result == NOT_CHARGER and cl.why == "elastic" and cl.elasticity_x100() >= 180


def test_a_heater_on_a_port_is_stopped_and_a_charger_is_left_alone():
    k = Kit()
    k.rig.plant.grid = physics.Grid(5)
    lc = LoadCheck(k.cfg, k.station, k.bus, clock=k.rig.clock)
    k.plug(1, cc_w=220, pf=0.62)
    # 700 W: under the port's current limit (5.5 A, ~1200 W), which stops bigger heaters itself
    k.rig.plant.ports[1].loads.append(physics.Heater(700))
    for p in (1, 2):
        k.station.start(p, "full", 0, "t%d" % p, "remote")
    for _ in range(240):
        k.rig.run(1)
        lc.step()
    b = k.rig.bills(2)
    assert len(b) == 1 and (b[0]["reason"], b[0]["cause"]) == ("Other", "not_a_charger")
    assert k.station.port(1)["status"] == "Charging" and not k.rig.bills(1)
    cls = {d["port"]: d for t, d in k.topics("load.class")}
    assert cls[1]["class"] == "charger" and cls[2]["class"] == "not_a_charger"
    assert cls[2]["at_s"] <= CFG["window_s"] and cls[2]["pf"] >= 960
    assert lc.stopped == 1 and lc.watch == {}


def test_report_only_when_configured():
    k = Kit()
    k.cfg["front"]["loadcheck"] = "report"
    lc = LoadCheck(k.cfg, k.station, k.bus, clock=k.rig.clock)
    k.rig.plant.ports[0].loads.append(physics.Heater(1000))
    k.station.start(1, "full", 0, "t", "remote")
    for _ in range(60):
        k.rig.run(1)
        lc.step()
    assert [d["class"] for t, d in k.topics("load.class")] == ["not_a_charger"]
    assert k.station.port(1)["status"] == "Charging"
