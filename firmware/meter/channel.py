"""One metered circuit's latest reading, in integer units (no floats in the hot path).

`seq` grows by one per accepted reading, so a consumer sees new data by comparing it;
energy is kept as a pulse count (wrap-around already unfolded by the parser) and scaled
on demand, so no rounding error accumulates. `fault` is FAULT_CHIP while the chip itself
reports that its calibration is unusable (it talks, but gives no readings), 0 otherwise:
the domain can tell a broken metering IC from a silent one.
"""
from micropython import const

FAULT_CHIP = const(1)


class Channel:
    __slots__ = ("v_mv", "i_ma", "p_mw", "pulses", "seq", "fault", "_e_mul", "_e_div")

    def __init__(self, e_mul=1, e_div=1):
        self.v_mv = 0
        self.i_ma = 0
        self.p_mw = 0
        self.pulses = 0
        self.seq = 0
        self.fault = 0
        self._e_mul = e_mul
        self._e_div = e_div

    def set_energy_scale(self, mul, div):
        self._e_mul = mul
        self._e_div = div

    def energy_mwh(self):
        """Energy counted since the parser started, in mWh (rounded down: never over-bills)."""
        return self.pulses * self._e_mul // self._e_div


def add_pulses(ch, last, now, mask, max_step):
    """Unfold a wrapping hardware counter: returns the new `last`.

    A jump larger than `max_step` (the chip was reset, or a bad frame slipped through)
    rebases without counting, so a glitch can never create energy.
    """
    if last is not None:
        d = (now - last) & mask
        if d <= max_step:
            ch.pulses += d
    return now
