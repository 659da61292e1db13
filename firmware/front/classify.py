"""Is the load on a port an e-bike charger? A classifier over the first minutes of a session
from what the meter already reports (W, V, PF), in O(1) memory per port.

The physics it leans on (docs/front.md "Malicious loads"):
- A charger is a switched-mode supply. Without power-factor correction (most e-bike
  chargers) its PF is 0.5-0.7; with it, 0.95-0.99. It regulates its output, so its input
  power does not follow the mains voltage: dP/P over dV/V (the elasticity) is about 0.
- A heater or kettle is a resistance: PF 1 and P = V^2/R, so its elasticity is 2. A
  charger and a heater on one extension lead: the elasticity is 2 x the heater's share of
  the power, the PF in between.
- No e-bike charger draws 700 W or more at near-unity PF.
The mains moves by itself (other loads in the building, other ports of this pile): every
pair of consecutive samples whose voltage moved by at least 0.5 V adds to the elasticity
estimate sum(x*y)/sum(x*x) (x = dV/V, y = dP/P), which counts once three such steps add
up to 1.5 % of the voltage.

Decisions, from 20 s on (never "not a charger" on doubt):
- CHARGER once the median PF is below 0.75 (a heater's share would lift it);
- NOT_CHARGER when the elasticity is over 1.3 with enough voltage movement, or the median
  PF is at least 0.965 with the power at 700 W or more;
- CHARGER when the elasticity is known and low (under a third of the threshold), or at the
  end of the window (180 s) with a median PF below 0.88;
- UNKNOWN at the end of the window otherwise (a PFC charger on a steady mains looks like a
  small heater: it keeps charging, and the back end hears "unknown").
"""
_MIN_W = 30  # below this nothing is judged (no load yet, or a charger's pause)
_DV_PERMILLE = 15  # the voltage steps must add up to this (1.5 %) before the elasticity counts
# the decision thresholds (docs/front.md): measured against the generated set, not config
DEFAULTS = {"window_s": 180, "min_s": 20, "pf_charger": 880, "pf_resistive": 965, "heater_w": 700,
            "elastic_x100": 130}
UNDECIDED = 0
CHARGER = 1
NOT_CHARGER = 2
UNKNOWN = 3
NAMES = ("undecided", "charger", "not_a_charger", "unknown")
_BINS = 101  # PF histogram, 0.01 wide


class Classifier:
    def __init__(self, c=None):
        self.c = c or DEFAULTS
        self.reset()

    def reset(self):
        self.hist = bytearray(_BINS)
        self.npf = 0
        self.n = 0
        self.t0 = None
        self.sum_w = 0
        self.sxx = 0.0
        self.sxy = 0.0
        self.sabs = 0.0  # sum of |dV/V| of the steps that counted
        self.steps = 0
        self.prev = None  # (v_dv, w) of the last sample
        self.result = UNDECIDED
        self.at_ms = None  # ms after the load appeared when decided
        self.why = ""

    def pf_median(self):
        """Median PF (thousandths, 10 wide) of the samples, or None."""
        if not self.npf:
            return None
        half = (self.npf + 1) // 2
        k = 0
        for i in range(_BINS):
            k += self.hist[i]
            if k >= half:
                return i * 10
        return 1000

    def elasticity_x100(self):
        """dP/P over dV/V x 100 when the voltage moved enough, else None."""
        if self.steps < 3 or self.sabs * 1000 < _DV_PERMILLE:
            return None
        return int(100 * self.sxy / self.sxx)

    def add(self, t_ms, w, v_dv, pf):
        """One sample: t_ms since the session started, W, volts x 10, PF thousandths (or
        None). Returns the result (UNDECIDED until it is decided, then the decision)."""
        c = self.c
        if self.result != UNDECIDED:
            return self.result
        if w < _MIN_W or v_dv <= 0:
            self.prev = None  # no load (yet, or the charger paused): judge only loaded time
            return UNDECIDED
        if self.t0 is None:
            self.t0 = t_ms
        t = t_ms - self.t0
        self.n += 1
        self.sum_w += w
        if pf is not None and 0 <= pf <= 1000:
            b = pf // 10
            if self.hist[b] < 255:
                self.hist[b] += 1
                self.npf += 1
        p = self.prev
        if p is not None and p[1] > 0 and (v_dv - p[0] >= 5 or p[0] - v_dv >= 5):
            x = (v_dv - p[0]) / p[0]
            y = (w - p[1]) / p[1]
            self.sxx += x * x
            self.sxy += x * y
            self.sabs += x if x > 0 else -x
            self.steps += 1
        self.prev = (v_dv, w)
        if t < c["min_s"] * 1000:
            return UNDECIDED
        med = self.pf_median()
        e = self.elasticity_x100()
        mean_w = self.sum_w // self.n
        if med is not None and med < 750:
            return self._decide(CHARGER, t, "pf")  # a heater's share would lift the PF
        if e is not None and e >= c["elastic_x100"]:
            return self._decide(NOT_CHARGER, t, "elastic")
        if med is not None and med >= c["pf_resistive"] and mean_w >= c["heater_w"]:
            return self._decide(NOT_CHARGER, t, "pf_power")
        if e is not None and e < c["elastic_x100"] // 3:
            return self._decide(CHARGER, t, "steady")
        if t >= c["window_s"] * 1000:
            if med is not None and med < c["pf_charger"]:
                return self._decide(CHARGER, t, "pf")
            return self._decide(UNKNOWN, t, "window")
        return UNDECIDED

    def _decide(self, r, t, why):
        self.result = r
        self.at_ms = t
        self.why = why
        return r
