"""A generated set of loads for the malicious-load classifier (firmware/front/classify.py),
from the sim's physics (tools/upile/sim/physics.py: the same models the meter emulator
uses), run under MicroPython by tests/device/test_front_classifier.py and bench/front.py.

Each case is one outlet on a wandering mains (physics.Grid: drift, steps as other loads
switch, the pile's line drop) sampled as the pile reports it (integer W, volts x 10, PF in
thousandths from P/(V*I) as firmware/charging/pile.py computes it), with +-0.4 % ripple on
the power. Chargers: 36/48/60/72 V, lead-acid (CV from 75 % charge) or lithium (from 85 %),
any state of charge (some already tapering), 70 % without PFC (PF 0.50-0.72), 30 % with
(0.93-0.99). Not chargers: heaters 100-2000 W (fast, PTC and slow oil elements), kettles
1500-2200 W that boil in 90-300 s, and a charger with a 300-1500 W heater on its lead.
"""
import chgsim  # noqa: F401  (puts tools/upile/sim on sys.path)
import physics
from prng import XorShift

KINDS = ("charger", "heater", "kettle", "mix")


class R:
    def __init__(self, seed):
        self.x = XorShift(seed)

    def u(self, a, b):
        return a + (b - a) * (self.x.next() / 4294967296.0)

    def p(self, prob):
        return self.x.next() / 4294967296.0 < prob


def case(kind, seed):
    """(port, loads label: True when not a charger)."""
    r = R(seed * 2654435761 % 4294967291 + 1)
    port = physics.Port()
    if kind == "charger":
        volts = (36, 48, 60, 72)[r.x.below(4)]
        cc = {36: 120.0, 48: 190.0, 60: 240.0, 72: 300.0}[volts] * r.u(0.7, 1.3)
        pf = r.u(0.93, 0.99) if r.p(0.3) else r.u(0.50, 0.72)
        lithium = r.p(0.5)
        port.bike = physics.Bike(cc, r.u(300, 900), r.u(0.05, 0.97), cv_at=0.85 if lithium else 0.75, pf=pf)
        bad = False
    elif kind == "heater":
        port.loads.append(physics.Heater(r.u(100, 2000), warm=r.u(0.02, 0.3), tau_s=r.u(10, 300)))
        bad = True
    elif kind == "kettle":
        port.loads.append(physics.Heater(r.u(1500, 2200), warm=0.02, off_after_s=r.u(90, 300)))
        bad = True
    else:
        port.bike = physics.Bike(r.u(150, 300), 600, r.u(0.1, 0.7), pf=r.u(0.5, 0.7))
        port.loads.append(physics.Heater(r.u(300, 1500)))
        bad = True
    port.relay = True
    return port, bad, r


def run(kind, seed, cfg, classifier, steady=False, step_s=1):
    """Classify one case: (bad, result, ms to decide or None)."""
    port, bad, r = case(kind, seed)
    grid = physics.Grid(seed + 1, step_v=0.0 if steady else 2.5)
    cl = classifier(cfg)
    v = grid.volts
    t = 0
    limit = (cfg["window_s"] + 10) * 1000
    while t < limit:
        v = grid.volts_at(step_s, port.amps(port.p_w, v))
        port.advance(step_s, v)
        t += step_s * 1000
        w = port.p_w * r.u(0.996, 1.004)
        i = port.amps(w, v)
        v_mv, i_ma, p_mw = int(v * 1000), int(i * 1000), int(w * 1000)
        va = v_mv * i_ma // 1000
        pf = min(1000, p_mw * 1000 // va) if va > 0 and p_mw > 0 else None
        if cl.add(t, p_mw // 1000, v_mv // 100, pf):
            break
    return bad, cl.result, cl.at_ms


def measure(cfg, classifier, n=100, steady=False):
    """{kind: (cases, flagged not-a-charger, unknown, [decision ms of the flagged])}."""
    from firmware.front.classify import NOT_CHARGER, UNKNOWN

    out = {}
    for kind in KINDS:
        flagged = unknown = 0
        times = []
        for s in range(n):
            bad, res, at = run(kind, s + 1000 * KINDS.index(kind), cfg, classifier, steady)
            if res == NOT_CHARGER:
                flagged += 1
                times.append(at)
            elif res == UNKNOWN:
                unknown += 1
        out[kind] = (n, flagged, unknown, times)
    return out
