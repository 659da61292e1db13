"""HLW8032 parser: the chip pushes a 24-byte frame every ~50 ms (4800 baud, 8E1).

Frame (big-endian registers): state | 0x5A | Vpar Vreg Ipar Ireg Ppar Preg (3 bytes
each) | data-update | PF (2) | checksum = low byte of the sum of bytes 2..22.
State 0x55: all registers valid; 0xAA: chip error (calibration unusable); 0xFx: bit3/2/1
say the voltage/current/power register overflowed (the quantity is ~0, e.g. no load),
bit0 says the coefficients are bad. Value = parameter / register * coefficient (Kv, Ki
from config, in thousandths). PF counts energy pulses, 16 bits, wrapping.

A frame only becomes a reading when the frame right before it in the byte stream was
valid too: random bytes would have to pass two 8-bit checks twice in a row, with equal
calibration parameters, so garbage never yields a reading.
"""
from micropython import const
from firmware.meter.channel import Channel, add_pulses

_LEN = const(24)
_CHECK = const(0x5A)
_PF_MASK = const(0xFFFF)
_PF_STEP = const(16384)
_V_MAX_MV = const(500000)
_E_DIV = 3600000000000  # pulses per kWh = 3.6e12 / (Ppar * Kv * Ki); in mWh per pulse


def _state_ok(s):
    return s == 0x55 or s == 0xAA or (s & 0xF0) == 0xF0


def _u24(b, i):
    return (b[i] << 16) | (b[i + 1] << 8) | b[i + 2]


class HLW8032:
    def __init__(self, kv_milli=1880, ki_milli=1000):
        self.ch = Channel(0, _E_DIV)
        self._kv = kv_milli
        self._ki = ki_milli
        self._buf = bytearray(_LEN)
        self._n = 0
        self._prev = None  # (vpar, ipar, ppar) of the last valid frame, None when not armed
        self._pf = None
        self._pk = 0  # Ppar * Kv * Ki / 1000 for the power formula, cached per Ppar
        self._ppar = 0
        self._emul = 0
        self.frames = 0
        self.bad = 0
        self.chip_errors = 0

    def channels(self):
        return (self.ch,)

    def request(self):
        return None  # the HLW8032 pushes frames by itself

    def feed(self, data, n=-1):
        """Consume `n` bytes (all when -1) of `data`; never raises on any byte values."""
        buf = self._buf
        if n < 0:
            n = len(data)
        for i in range(n):
            b = data[i]
            k = self._n
            if k == 0:
                if _state_ok(b):
                    buf[0] = b
                    self._n = 1
                else:
                    self._prev = None
                continue
            if k == 1:
                if b == _CHECK:
                    buf[1] = b
                    self._n = 2
                elif _state_ok(b):
                    buf[0] = b
                    self._prev = None
                else:
                    self._n = 0
                    self._prev = None
                continue
            buf[k] = b
            k += 1
            if k < _LEN:
                self._n = k
                continue
            self._n = 0
            if not self._frame():
                self.bad += 1
                self._prev = None
                self._resync()

    def _resync(self):
        # the real frame may start inside the rejected one: slide to the next candidate
        buf = self._buf
        for j in range(1, _LEN):
            if _state_ok(buf[j]) and (j == _LEN - 1 or buf[j + 1] == _CHECK):
                m = _LEN - j
                for k in range(m):
                    buf[k] = buf[j + k]
                self._n = m
                return

    def _frame(self):
        buf = self._buf
        s = 0
        for i in range(2, 23):
            s += buf[i]
        if (s & 0xFF) != buf[23]:
            return False
        st = buf[0]
        if st == 0xAA or (st != 0x55 and st & 1):
            self.chip_errors += 1
            return False
        vpar, ipar, ppar = _u24(buf, 2), _u24(buf, 8), _u24(buf, 14)
        vreg, ireg, preg = _u24(buf, 5), _u24(buf, 11), _u24(buf, 17)
        over = st & 0x0E if st != 0x55 else 0
        if not vpar or not ipar or not ppar:
            return False
        v = 0 if over & 8 else (vpar * self._kv // vreg if vreg else -1)
        i = 0 if over & 4 else (ipar * self._ki // ireg if ireg else -1)
        if ppar != self._ppar:
            self._ppar = ppar
            self._pk = ppar * self._kv * self._ki // 1000
            self._emul = ppar * self._kv * self._ki
        p = 0 if over & 2 else (self._pk // preg if preg else -1)
        if v < 0 or i < 0 or p < 0 or v > _V_MAX_MV:
            return False
        prev = self._prev
        self._prev = (vpar, ipar, ppar)
        self.frames += 1
        if prev is None or prev[0] != vpar or prev[1] != ipar or prev[2] != ppar:
            return True  # valid, but not yet confirmed by its predecessor
        ch = self.ch
        ch.set_energy_scale(self._emul, _E_DIV)
        self._pf = add_pulses(ch, self._pf, (buf[21] << 8) | buf[22], _PF_MASK, _PF_STEP)
        ch.v_mv = v
        ch.i_ma = i
        ch.p_mw = p
        ch.seq += 1
        return True
