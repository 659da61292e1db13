"""Tariffs and exact session cost, in integer fen (no float money anywhere).

Time-based cost is kept as a numerator over one common denominator D (ms and the
minutes of every tier folded in), so any mix of tiers sums exactly; the cost in fen is
numerator // D (rounded down: the resident is never charged a fraction he did not use).

Power tiers follow the usual e-bike rule: the billing power is *settled* from the
average power of the first `settle_s` (the first seconds of a charger say nothing), the
whole window is billed at that tier, and every later window whose average lands in a
higher tier moves the session up from then on (never down: vendors keep the highest).
"""


MODES = ("time", "tiers", "energy")
MAX_W = 100000  # the tiers' watts, as charging.cap_w's upper bound
MAX_MIN = 100000  # minutes per unit, as tariff.unit_min's upper bound


def check(cfg):
    """Config rules of the `tariff` section (firmware/config.py RULES): None or "tariff.key:
    what is wrong". The tier table is checked whatever the mode, so switching the mode
    (remotely, too) never brings a bad table to life."""
    t = cfg["tariff"]
    if t["mode"] not in MODES:
        return "tariff.mode: %r is not one of %s" % (t["mode"], ", ".join(MODES))
    last = None
    for i, row in enumerate(t["tiers"]):
        if not (isinstance(row, list) and len(row) == 2 and type(row[0]) is int and type(row[1]) is int):
            return "tariff.tiers[%d]: expected [watts, minutes per unit] (two integers)" % i
        w, m = row
        if not 1 <= w <= MAX_W:
            return "tariff.tiers[%d]: %d W is not 1-%d" % (i, w, MAX_W)
        if not 1 <= m <= MAX_MIN:
            return "tariff.tiers[%d]: %d minutes per unit is not 1-%d" % (i, m, MAX_MIN)
        if last is not None and w <= last:
            return "tariff.tiers[%d]: %d W is not above the previous tier's %d W" % (i, w, last)
        last = w
    return None


def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


class Tariff:
    def __init__(self, t):
        self.mode = t["mode"]  # checked with the config (check() above)
        self.unit_fen = t["unit_fen"]
        self.start_fee = t["start_fee_fen"]
        self.fen_per_kwh = t["fen_per_kwh"]
        self.settle_ms = t["settle_s"] * 1000 if self.mode == "tiers" else 0
        if self.mode == "tiers":
            self.tiers = [tuple(r) for r in t["tiers"]]
        else:
            self.tiers = [(0, t["unit_min"])]
        lcm = 1
        for _, m in self.tiers:
            lcm = lcm * m // _gcd(lcm, m)
        self.den = 60000 * lcm  # ms per unit at the slowest-common tier
        # numerator added per ms at tier i: unit_fen * D / (minutes_i * 60000)
        self.rate = [self.unit_fen * (lcm // m) for _, m in self.tiers]

    def tier_for(self, watts):
        for i, (upto, _) in enumerate(self.tiers):
            if watts <= upto:
                return i
        return len(self.tiers) - 1

    def new_cost(self):
        return Cost(self)


class Cost:
    """Running cost of one session; fields are plain ints so a checkpoint can store them."""

    def __init__(self, tariff):
        self.t = tariff
        self.num = 0  # time cost numerator over tariff.den
        self.tier = 0
        self.settled = tariff.settle_ms == 0
        self.win_ms = 0  # current settlement window
        self.win_mwh = 0

    def state(self):
        return (self.num, self.tier, 1 if self.settled else 0, self.win_ms, self.win_mwh)

    def restore(self, st):
        self.num, self.tier, settled, self.win_ms, self.win_mwh = st
        self.settled = bool(settled)

    def add(self, ms, mwh):
        """Account `ms` of charging during which `mwh` flowed."""
        t = self.t
        if t.mode == "energy":
            return
        if t.settle_ms == 0:
            self.num += ms * t.rate[self.tier]
            return
        self.win_ms += ms
        self.win_mwh += mwh
        if self.settled:
            self.num += ms * t.rate[self.tier]
        if self.win_ms >= t.settle_ms:
            tier = t.tier_for(self.win_mwh * 3600 // self.win_ms)
            if not self.settled:
                # settlement: the whole first window is billed at the settled tier
                self.tier = tier
                self.settled = True
                self.num += self.win_ms * t.rate[tier]
            elif tier > self.tier:
                self.tier = tier
            self.win_ms = 0
            self.win_mwh = 0

    def _pending_num(self):
        # an unsettled window is priced at the current (lowest so far) tier meanwhile
        return 0 if self.settled else self.win_ms * self.t.rate[self.tier]

    def fen(self, energy_mwh):
        """Cost so far in fen, including the start fee."""
        t = self.t
        if t.mode == "energy":
            return t.start_fee + energy_mwh * t.fen_per_kwh // 1000000
        return t.start_fee + (self.num + self._pending_num()) // t.den

    def covers(self, budget_fen, energy_mwh):
        """True while the budget still pays for what was used."""
        t = self.t
        if t.mode == "energy":
            return (budget_fen - t.start_fee) * 1000000 > energy_mwh * t.fen_per_kwh
        return (budget_fen - t.start_fee) * t.den > self.num + self._pending_num()
