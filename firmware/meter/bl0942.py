"""BL0942 parser: 23-byte answer to `0x58 0xAA` (4800 baud 8N1), little-endian registers.

head 0x55 | I_RMS(3) | V_RMS(3) | I_FAST_RMS(3) | WATT(3, signed) | CF_CNT(3, unsigned,
wraps at 2^24) | FREQ(3: a 16-bit register, top byte 0) | STATUS(3) | checksum (datasheet
V1.05, 3.2.6). Scaling: raw counts per volt / amp / watt and CF pulses per kWh come from
config (they depend on the shunt and the voltage divider).

No load: below the anti-creep threshold (WA_CREEP, default 0x0B, ~0.2 W) the chip reads
WATT = 0 and cuts I_RMS to 0, CF stops, STATUS bit1 (CREEP_F) is set: an ordinary reading
of 0 W. STATUS bits 8/9 (third byte from the end) say the current / voltage is below the
zero-crossing threshold; without voltage FREQ keeps its last value.
"""
from micropython import const
from firmware.meter.blframe import BLFrame, u24le, s24le
from firmware.meter.channel import Channel, add_pulses

_CF_MASK = const(0xFFFFFF)
_CF_STEP = const(0x100000)
_V_MAX_MV = const(500000)
_I_MAX_MA = const(100000)


def scale(raw, ref):
    """Counts -> thousandths of the unit (mV, mA, mW) for `ref` counts per unit."""
    return raw * 1000 // ref


class BL0942(BLFrame):
    LEN = 23
    CMD = 0x58

    def __init__(self, v_ref=15873, i_ref=251213, p_ref=596, e_ref=3305):
        super().__init__()
        self._v, self._i, self._p = v_ref, i_ref, p_ref
        self.ch = Channel(1000000, e_ref)
        self._cf = None

    def channels(self):
        return (self.ch,)

    def _decode(self, b, confirmed):
        v = scale(u24le(b, 4), self._v)
        i = scale(u24le(b, 1), self._i)
        p = abs(scale(s24le(b, 10), self._p))
        freq = b[16] | (b[17] << 8)
        # FREQ holds the line period in 2 us steps at 500 kHz (f = 1e6 / FREQ): 45-67 Hz
        if v > _V_MAX_MV or i > _I_MAX_MA or b[18] or (freq and not 15000 <= freq <= 22300):
            return False
        if confirmed:
            ch = self.ch
            self._cf = add_pulses(ch, self._cf, u24le(b, 13), _CF_MASK, _CF_STEP)
            ch.v_mv, ch.i_ma, ch.p_mw = v, i, p
            ch.seq += 1
        return True
