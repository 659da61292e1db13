"""Encoders for metering-IC frames: what an HLW8032 / BL0942 / BL0939 puts on its TX line.

Used by the sim meter peer (host) and as test vectors by device tests, so this module
runs on CPython and on MicroPython alike (plain arithmetic, no CPython-only modules).
Quantities come in as floats (volts, amps, watts, cumulative watt-hours); the counters
wrap exactly like the chips' registers do.
"""


def _be24(v):
    v = int(v)
    return bytes(((v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF))


def _le24(v):
    v = int(v) & 0xFFFFFF
    return bytes((v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF))


class HLW8032Enc:
    """kv/ki in thousandths as in the meter config; *par are the chip's calibration registers."""

    def __init__(self, kv_milli=1880, ki_milli=1000, vpar=190000, ipar=16000, ppar=5000000):
        self.kv, self.ki = kv_milli / 1000, ki_milli / 1000
        self.vpar, self.ipar, self.ppar = vpar, ipar, ppar
        self._last_pf = 0

    def pulses_per_wh(self):
        return 3.6e9 / (self.ppar * self.kv * self.ki)

    def frame(self, v, i, p, e_wh, state=None):
        st = 0x55
        over = 0
        vreg = self.vpar * self.kv / v if v > 0 else 0
        ireg = self.ipar * self.ki / i if i > 0 else 0
        preg = self.ppar * self.kv * self.ki / p if p > 0 else 0
        if not 0 < vreg < 0x1000000:
            over |= 8
            vreg = 0xFFFFFF
        if not 0 < ireg < 0x1000000:
            over |= 4
            ireg = 0xFFFFFF
        if not 0 < preg < 0x1000000:
            over |= 2
            preg = 0xFFFFFF
        if over:
            st = 0xF0 | over
        if state is not None:
            st = state
        pulses = int(e_wh * self.pulses_per_wh())
        pf = pulses & 0xFFFF
        upd = 0x70 | (0x80 if pf < self._last_pf else 0)
        self._last_pf = pf
        body = (_be24(self.vpar) + _be24(vreg) + _be24(self.ipar) + _be24(ireg)
                + _be24(self.ppar) + _be24(preg) + bytes((upd, pf >> 8, pf & 0xFF)))
        return bytes((st, 0x5A)) + body + bytes((sum(body) & 0xFF,))


class BL0942Enc:
    CMD = 0x58

    def __init__(self, v_ref=15873, i_ref=251213, p_ref=596, e_ref=3305):
        self.v_ref, self.i_ref, self.p_ref, self.e_ref = v_ref, i_ref, p_ref, e_ref

    def frame(self, v, i, p, e_wh, hz=50.0):
        cf = int(e_wh / 1000 * self.e_ref)
        freq = int(1000000 / hz) if hz else 0
        body = (bytes((0x55,)) + _le24(i * self.i_ref) + _le24(v * self.v_ref) + _le24(i * self.i_ref)
                + _le24(int(p * self.p_ref)) + _le24(cf) + bytes((freq & 0xFF, freq >> 8, 0, 0, 0, 0)))
        return body + bytes(((~(self.CMD + sum(body))) & 0xFF,))


class BL0939Enc:
    CMD = 0x55

    def __init__(self, v_ref=17159, i_ref=266013, p_ref=713, e_ref=3305):
        self.v_ref, self.i_ref, self.p_ref, self.e_ref = v_ref, i_ref, p_ref, e_ref

    def frame(self, v, a, b):
        """a, b: (amps, watts, cumulative Wh) of channels A and B."""
        ia, pa, ea = a
        ib, pb, eb = b
        body = (bytes((0x55,)) + _le24(ia * self.i_ref) + _le24(ia * self.i_ref) + _le24(ib * self.i_ref)
                + _le24(v * self.v_ref) + _le24(ib * self.i_ref) + _le24(int(pa * self.p_ref))
                + _le24(int(pb * self.p_ref)) + _le24(ea / 1000 * self.e_ref) + _le24(eb / 1000 * self.e_ref)
                + _le24(0) + _le24(0))
        return body + bytes(((~(self.CMD + sum(body))) & 0xFF,))


def encoder(chip, meter_cfg=None):
    """Encoder matching firmware.meter.make(chip, cfg) scaling (defaults when cfg is None)."""
    c = meter_cfg or {}
    if chip == "hlw8032":
        return HLW8032Enc(c.get("hlw_kv_milli", 1880), c.get("hlw_ki_milli", 1000))
    args = [c[k] for k in ("bl_v_ref", "bl_i_ref", "bl_p_ref", "bl_e_ref") if k in c]
    if chip == "bl0942":
        return BL0942Enc(*args)
    if chip == "bl0939":
        return BL0939Enc(*args)
    raise ValueError("unknown meter chip %r" % chip)
