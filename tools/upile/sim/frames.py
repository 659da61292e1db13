"""Encoders for metering-IC frames: what an HLW8032 / BL0942 / BL0939 puts on its TX line.

Used by the sim meter peer (host) and as test vectors by device tests, so this module
runs on CPython and on MicroPython alike (plain arithmetic, no CPython-only modules).
Quantities come in as floats (volts, amps, watts, cumulative metered watt-hours); the
counters wrap exactly like the chips' registers do. What each chip sends with nothing to
measure (no load, no mains) follows its datasheet and captures of real chips: see
docs/hardware.md, "Metering ICs".
"""

_SAT = 0xFEFF01  # an HLW8032 period register that ran out (captured on real chips)
_RUN_STEP = 0x19A64  # how far an overflowed power register counts per 50 ms frame (captured)
_RUN_BASE = 0x109F50  # where that count restarts after it saturated (captured)


def _be24(v):
    v = int(v)
    return bytes(((v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF))


def _le24(v):
    v = int(v) & 0xFFFFFF
    return bytes((v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF))


class HLW8032Enc:
    """kv/ki in thousandths as in the meter config; *par are the chip's calibration registers.

    idle_ma: the current an unloaded channel still reads (the vendor's module reads ~67 mA
    with state 0xF2); 0 makes the chip flag the current register as overflowed instead.
    hold_s: how long the chip keeps the last load's current and power registers after the
    load went away before it flags the overflow (the vendor's FAQ: ~5 s); applies only when
    frame() is given the time `t`.
    """

    FRAME_S = 0.05

    def __init__(self, kv_milli=1880, ki_milli=1000, vpar=190000, ipar=16000, ppar=5000000, idle_ma=60,
                 hold_s=0.0):
        self.kv, self.ki = kv_milli / 1000, ki_milli / 1000
        self.vpar, self.ipar, self.ppar = vpar, ipar, ppar
        self.idle_ma = idle_ma
        self.hold_s = hold_s
        self._over_t = None  # when the power register last started to overflow
        self._over_n = 0  # frames sent since then (when no time is given)
        self._regs = None  # (ireg, preg) of the last load, kept while no-load is not detected
        self._gone_t = None  # when the load went away (for hold_s)

    def pulses_per_wh(self):
        return 3.6e9 / (self.ppar * self.kv * self.ki)

    def pulses(self, e_wh):
        """PF pulses the chip has counted for `e_wh` metered watt-hours (unwrapped)."""
        return int(e_wh * self.pulses_per_wh())

    def creep_w(self):
        """Below this power the period register overflows and (we take it) PF stops counting."""
        return self.ppar * self.kv * self.ki / _SAT

    def _running(self, t):
        # an overflowed power register shows the period still being timed: +_RUN_STEP per
        # frame, saturating at _SAT for ten frames, then restarting (an ~8 s cycle)
        if t is None:
            n = self._over_n
            self._over_n += 1
        else:
            if self._over_t is None:
                self._over_t = t
            n = int((t - self._over_t) / self.FRAME_S)
        n %= 160
        return _RUN_BASE + n * _RUN_STEP if n < 150 else _SAT

    def frame(self, v, i, p, e_wh, state=None, t=None):
        over = 0
        upd = 0x01  # bit0 reads 1 in every captured frame (reserved)
        vreg = self.vpar * self.kv / v if v > 0 else _SAT
        if vreg >= _SAT:
            over |= 8
            vreg = _SAT
        else:
            upd |= 0x40
        preg = self.ppar * self.kv * self.ki / p if p > 0 else _SAT
        if i > 0:
            ireg = self.ipar * self.ki / i
        elif over & 8:
            ireg = 0  # no mains: the current register was never measured (state 0xFA capture)
        elif self.idle_ma > 0:
            ireg = self.ipar * self.ki * 1000 / self.idle_ma
        else:
            ireg = _SAT
        if preg < _SAT:
            self._regs = (ireg, preg)
            self._gone_t = None
            self._over_t = None
            self._over_n = 0
            upd |= 0x10 | 0x20
        elif t is not None and self.hold_s > 0 and self._regs is not None and not over & 8:
            if self._gone_t is None:
                self._gone_t = t
            if t - self._gone_t < self.hold_s:
                ireg, preg = self._regs  # the last load's periods, not refreshed (bits 5, 4 clear)
            else:
                self._regs = None
        if preg >= _SAT:
            over |= 2
            preg = self._running(t)
            if ireg:
                upd |= 0x20
        if ireg >= _SAT:
            over |= 4
            ireg = _SAT
            upd &= ~0x20
        st = 0xF0 | over if over else 0x55
        if state is not None:
            st = state
        c = self.pulses(e_wh) & 0x1FFFF  # PF (16 bits) + the carry bit the chip toggles on wrap
        if c >> 16:
            upd |= 0x80
        pf = c & 0xFFFF
        body = (_be24(self.vpar) + _be24(vreg) + _be24(self.ipar) + _be24(ireg)
                + _be24(self.ppar) + _be24(preg) + bytes((upd, pf >> 8, pf & 0xFF)))
        return bytes((st, 0x5A)) + body + bytes((sum(body) & 0xFF,))


class _BLEnc:
    """Belling parts: anti-creep (WATT and I_RMS read 0 below WA_CREEP, CF stops)."""

    CMD = 0
    WA_CREEP = 0x0B  # register default

    def __init__(self, v_ref, i_ref, p_ref, e_ref):
        self.v_ref, self.i_ref, self.p_ref, self.e_ref = v_ref, i_ref, p_ref, e_ref

    def creep_w(self):
        return self.WA_CREEP * 3125 / 256 / self.p_ref  # WA_CREEP = WATT * 256 / 3125

    def pulses(self, e_wh):
        return int(e_wh / 1000 * self.e_ref)

    def _chan(self, i, p):
        """(I_RMS, WATT, creeping) register values for one current channel."""
        watt = int(p * self.p_ref)
        if abs(watt) < self.WA_CREEP * 3125 / 256:
            return 0, 0, True  # in creep the chip also cuts the channel's current RMS to 0
        return int(i * self.i_ref), watt, False

    def _sum(self, body):
        return bytes(((~(self.CMD + sum(body))) & 0xFF,))


class BL0942Enc(_BLEnc):
    CMD = 0x58

    def __init__(self, v_ref=15873, i_ref=251213, p_ref=596, e_ref=3305):
        _BLEnc.__init__(self, v_ref, i_ref, p_ref, e_ref)
        self._freq = 0x4E20  # register default (50 Hz); kept while there is no voltage

    def frame(self, v, i, p, e_wh, hz=50.0):
        irms, watt, creep = self._chan(i, p)
        vrms = int(v * self.v_ref)
        status = 0x02 if creep else 0  # CREEP_F
        zx = 0
        if not irms >> 18:
            zx |= 1  # I_ZX_LTH_F (STATUS bit 8): current below 1/64 of full scale
        if not vrms >> 19:
            zx |= 2  # V_ZX_LTH_F (STATUS bit 9): no voltage; frequency detection stops
        elif hz:
            self._freq = int(1000000 / hz)
        cf = self.pulses(e_wh)
        body = (bytes((0x55,)) + _le24(irms) + _le24(vrms) + _le24(irms) + _le24(watt) + _le24(cf)
                + bytes((self._freq & 0xFF, self._freq >> 8, 0, status, zx, 0)))
        return body + self._sum(body)


class BL0939Enc(_BLEnc):
    CMD = 0x55

    def __init__(self, v_ref=17159, i_ref=266013, p_ref=713, e_ref=3305):
        _BLEnc.__init__(self, v_ref, i_ref, p_ref, e_ref)

    def frame(self, v, a, b):
        """a, b: (amps, watts, cumulative metered Wh) of channels A and B."""
        ia, pa, _ = self._chan(a[0], a[1])
        ib, pb, _ = self._chan(b[0], b[1])
        body = (bytes((0x55,)) + _le24(ia) + _le24(ia) + _le24(ib) + _le24(v * self.v_ref) + _le24(ib)
                + _le24(pa) + _le24(pb) + _le24(self.pulses(a[2])) + _le24(self.pulses(b[2]))
                + _le24(0) + _le24(0))
        return body + self._sum(body)


def encoder(chip, meter_cfg=None, unit=0):
    """Encoder matching firmware.meter.make(chip, cfg) scaling (defaults when cfg is None).
    `unit` tells the chips of one pile apart: every HLW8032 leaves the factory with its own
    calibration registers (Vpar/Ipar/Ppar are measured per chip), so two chips never send
    the same ones, and the parser can tell a stray frame of a neighbour behind the mux."""
    c = meter_cfg or {}
    if chip == "hlw8032":
        return HLW8032Enc(c.get("hlw_kv_milli", 1880), c.get("hlw_ki_milli", 1000), vpar=190000 + 211 * unit,
                          ipar=16000 + 17 * unit, ppar=5000000 + 1303 * unit)
    args = [c[k] for k in ("bl_v_ref", "bl_i_ref", "bl_p_ref", "bl_e_ref") if k in c]
    if chip == "bl0942":
        return BL0942Enc(*args)
    if chip == "bl0939":
        return BL0939Enc(*args)
    raise ValueError("unknown meter chip %r" % chip)
