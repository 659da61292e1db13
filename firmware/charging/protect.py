"""Protections that do not depend on a session's budget: per-reading limits (over-power,
over-current, voltage), relay readback, power through an open relay, and the pile's
temperature with a filter (vendors turned theirs off after false trips; we debounce).
"""
OVER_POWER = "over_power"
OVER_CURRENT = "over_current"


def reading_trip(c, p_w, i_ma):
    """Cause if this single reading must open the relay now, else None."""
    if p_w > c["overpower_w"]:
        return OVER_POWER
    if i_ma > c["overcurrent_ma"]:
        return OVER_CURRENT
    return None


def volt_bad(c, v_dv):
    return v_dv > c["volt_max_dv"] or v_dv < c["volt_min_dv"]


class TempGuard:
    """Samples every temp_check_s; `temp_trips` samples in a row over the limit trip it,
    all sensors below limit - hysteresis clear it. A missing/broken sensor counts as hot."""

    def __init__(self, c):
        self.limit = c["overtemp_c"] * 10
        self.clear = (c["overtemp_c"] - c["temp_hyst_c"]) * 10
        self.every = c["temp_check_s"] * 1000
        self.need = c["temp_trips"]
        self.hot = False
        self.count = 0
        self.last = None
        self.max_dc = None

    def due(self, now_ms, ticks_diff):
        if self.last is None or ticks_diff(now_ms, self.last) >= self.every:
            self.last = now_ms
            return True
        return False

    def sample(self, temps):
        """temps: list of tenths of deg C (None for a broken sensor). Returns hot."""
        hi = None
        for t in temps:
            if t is None:
                hi = self.limit
                break
            if hi is None or t > hi:
                hi = t
        self.max_dc = hi
        if hi is None:
            return self.hot
        if hi >= self.limit:
            self.count += 1
            if self.count >= self.need:
                self.hot = True
        else:
            self.count = 0
            if self.hot and hi < self.clear:
                self.hot = False
        return self.hot
