"""BL0939 parser: one chip meters two ports (channels A and B) on one voltage.

35-byte answer to `0x55 0xAA` (4800 baud 8N1): head 0x55 | IA_FAST_RMS | IA_RMS | IB_RMS |
V_RMS | IB_FAST_RMS | A_WATT (signed) | B_WATT (signed) | CFA_CNT | CFB_CNT | TPS1 | TPS2
(3 bytes each, little-endian) | checksum = ~(0x55 + sum) & 0xFF. Energy counters are 24-bit,
unsigned in the default absolute-value accumulation, wrapping at 2^24. Like the BL0942, a
channel under the anti-creep threshold reads 0 W and 0 A and its CF counter stops.
"""
from micropython import const
from firmware.meter.blframe import BLFrame, u24le, s24le
from firmware.meter.bl0942 import scale
from firmware.meter.channel import Channel, add_pulses

_CF_MASK = const(0xFFFFFF)
_CF_STEP = const(0x100000)
_V_MAX_MV = const(500000)
_I_MAX_MA = const(100000)


class BL0939(BLFrame):
    LEN = 35
    CMD = 0x55

    def __init__(self, v_ref=17159, i_ref=266013, p_ref=713, e_ref=3305):
        super().__init__()
        self._v, self._i, self._p = v_ref, i_ref, p_ref
        self.a = Channel(1000000, e_ref)
        self.b = Channel(1000000, e_ref)
        self._cfa = None
        self._cfb = None

    def channels(self):
        return (self.a, self.b)

    def _decode(self, b, confirmed):
        v = scale(u24le(b, 10), self._v)
        ia = scale(u24le(b, 4), self._i)
        ib = scale(u24le(b, 7), self._i)
        pa = abs(scale(s24le(b, 16), self._p))
        pb = abs(scale(s24le(b, 19), self._p))
        if v > _V_MAX_MV or ia > _I_MAX_MA or ib > _I_MAX_MA:
            return False
        if confirmed:
            a, c = self.a, self.b
            self._cfa = add_pulses(a, self._cfa, u24le(b, 22), _CF_MASK, _CF_STEP)
            self._cfb = add_pulses(c, self._cfb, u24le(b, 25), _CF_MASK, _CF_STEP)
            a.v_mv, a.i_ma, a.p_mw = v, ia, pa
            c.v_mv, c.i_ma, c.p_mw = v, ib, pb
            a.seq += 1
            c.seq += 1
        return True
