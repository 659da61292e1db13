"""HLW8032 parser: the chip pushes a 24-byte frame every ~50 ms (4800 baud, 8E1).

Frame (big-endian registers): state | 0x5A | Vpar Vreg Ipar Ireg Ppar Preg (3 bytes
each) | data-update | PF (2) | checksum = low byte of the sum of bytes 2..22.
Value = parameter / register * coefficient (Kv, Ki from config, in thousandths).

State (datasheet rev 1.5): 0x55 all registers valid; 0xAA the chip's error correction
failed, the parameter registers are unusable; 0xF0-0xFF the parameters are usable and
bits 3/2/1 say the voltage/current/power period register overflowed (the quantity is ~0:
no mains, no load), unless bit0 says the parameter registers are unusable. A flagged
quantity reads 0 and its register holds garbage (real chips show a period still being
timed); a register of 0 that is not flagged was never measured (no mains: the current
register stays 0) and reads 0 too. Such frames are good readings: the meter is alive.
Any other first byte is not a frame start.

Data-update byte: bits 6/5/4 say the V/I/P register finished a new measurement in this
frame (a clear bit means the value is the previous one, still the latest the chip has);
bit7 toggles each time the 16-bit PF counter wraps, so bit7:PF is a 17-bit counter. PF
counts in every usable frame, power-overflow ones included (a load under the power
register's range may still pulse).

A frame only becomes a reading when the frame right before it in the byte stream was
valid too, with equal calibration registers: random bytes would have to pass two 8-bit
checks twice in a row, so garbage never yields a reading.
"""
from micropython import const
from firmware.meter.channel import Channel, FAULT_CHIP

_LEN = const(24)
_CHECK = const(0x5A)
_PF17 = const(0x1FFFF)
_PF17_STEP = const(0x8000)  # a quarter of the 17-bit count: larger jumps are a chip reset
_PF16 = const(0xFFFF)
_PF16_STEP = const(0x4000)
_V_MAX_MV = const(500000)
_I_MAX_MA = const(100000)
_E_DIV = 3600000000000  # pulses per kWh = 3.6e12 / (Ppar * Kv * Ki); in mWh per pulse
_BAD = const(0)
_GOOD = const(1)
_CHIP = const(2)


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
        self._armed = False  # the frame before was valid; its calibration registers follow
        self._vpar = self._ipar = self._ppar = 0
        self._pf = None  # last 17-bit PF count (carry bit 16 from the data-update byte)
        self._pk = 0  # Ppar * Kv * Ki / 1000 for the power formula, cached per Ppar
        self._kpar = 0
        self._emul = 0
        self.frames = 0
        self.bad = 0
        self.chip_errors = 0
        self.updated = 0  # data-update bits 6..4 of the last reading (V, I, P refreshed)

    def channels(self):
        return (self.ch,)

    def request(self):
        return None  # the HLW8032 pushes frames by itself

    def cut(self):
        """The line was switched away (the mux): a partial frame and the last frame's
        confirmation belong to before; the next reading needs two whole frames again."""
        self._n = 0
        self._armed = False

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
                    self._armed = False
                continue
            if k == 1:
                if b == _CHECK:
                    buf[1] = b
                    self._n = 2
                elif _state_ok(b):
                    buf[0] = b
                    self._armed = False
                else:
                    self._n = 0
                    self._armed = False
                continue
            buf[k] = b
            k += 1
            if k < _LEN:
                self._n = k
                continue
            self._n = 0
            r = self._frame()
            if r == _BAD:
                self.bad += 1
                self._armed = False
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
            return _BAD
        st = buf[0]
        if st == 0xAA or (st != 0x55 and st & 1):
            # a real frame, but Vpar/Ipar/Ppar are unusable: no reading, and the next
            # usable frame must arm again (its calibration may differ)
            self.chip_errors += 1
            self.ch.fault = FAULT_CHIP
            self._armed = False
            return _CHIP
        vpar, ipar, ppar = _u24(buf, 2), _u24(buf, 8), _u24(buf, 14)
        vreg, ireg, preg = _u24(buf, 5), _u24(buf, 11), _u24(buf, 17)
        over = 0 if st == 0x55 else st & 0x0E
        if not vpar or not ipar or not ppar:
            return _BAD
        kv, ki = self._kv, self._ki
        v = 0 if over & 8 or not vreg else vpar * kv // vreg
        i = 0 if over & 4 or not ireg else ipar * ki // ireg
        if ppar != self._kpar:
            self._kpar = ppar
            self._pk = ppar * kv * ki // 1000
            self._emul = ppar * kv * ki
        p = 0 if over & 2 or not preg else self._pk // preg
        if v > _V_MAX_MV or i > _I_MAX_MA:
            return _BAD
        confirmed = self._armed and vpar == self._vpar and ipar == self._ipar and ppar == self._ppar
        self._armed = True
        self._vpar, self._ipar, self._ppar = vpar, ipar, ppar
        self.frames += 1
        if not confirmed:
            return _GOOD  # valid, but not yet confirmed by its predecessor
        ch = self.ch
        upd = buf[20]
        ch.set_energy_scale(self._emul, _E_DIV)
        self._pf = _add_pf(ch, self._pf, ((upd & 0x80) << 9) | (buf[21] << 8) | buf[22])
        self.updated = upd & 0x70
        ch.v_mv = v
        ch.i_ma = i
        ch.p_mw = p
        ch.fault = 0
        ch.seq += 1
        return _GOOD


def _add_pf(ch, last, now):
    """Unfold bit7:PF (17 bits). If only the 16-bit difference is plausible, trust it:
    a carry bit that toggles a frame late then costs nothing."""
    if last is not None:
        d = (now - last) & _PF17
        if d > _PF17_STEP:
            d = (now - last) & _PF16
            if d > _PF16_STEP:
                return now  # a chip reset or a long gap: rebase, never invent energy
        ch.pulses += d
    return now
