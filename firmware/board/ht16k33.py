"""Holtek HT16K33 on I2C: the front panel's eight 7-segment digits, up to 64 discrete LEDs
and a 3x4 keypad, from one chip (16x8 LED RAM, 13x3 key scan with its own debounce).

Wiring (docs/hardware.md): digit i on COM i with ROW0-7 = segments a-g, dp; LED L on
COM L//8, ROW 8 + L%8; keys on KS0-KS2 (columns) x K1-K4 (rows). show() writes the RAM
only when it changed; keys() reads the key RAM, whose bits stay set until read, so a press
shorter than the poll period still shows once.
"""
from micropython import const

_OSC_ON = const(0x21)
_ROW_OUT = const(0xA0)
_DISPLAY_ON = const(0x81)
_DIM = const(0xE0)
_KEYS = const(0x40)
PAD = "123456789*0#"  # key index = row * 3 + column


class Panel:
    def __init__(self, i2c, addr=0x70, dim=15):
        self.i2c = i2c
        self.addr = addr
        self.ram = bytearray(17)  # [0] = the RAM pointer 0, then COM0 ROW0-7, COM0 ROW8-15, ...
        self._shown = bytearray(17)
        self._keys = bytearray(6)
        self._cmd = bytearray(1)
        self.dim = dim
        self.init()

    def _c(self, v):
        self._cmd[0] = v
        self.i2c.writeto(self.addr, self._cmd)

    def init(self):
        self._c(_OSC_ON)
        self._c(_ROW_OUT)
        self._c(_DIM | (self.dim & 0x0F))
        self._c(_DISPLAY_ON)
        self._shown[1] = 0xFF  # force the first show()
        self.show()

    def set_digit(self, i, segs):
        self.ram[1 + 2 * i] = segs

    def set_led(self, L, on):
        j = 2 + 2 * (L // 8)
        bit = 1 << (L % 8)
        self.ram[j] = (self.ram[j] | bit) if on else (self.ram[j] & ~bit)

    def show(self):
        if self.ram != self._shown:
            self.i2c.writeto(self.addr, self.ram)
            self._shown[:] = self.ram

    def keys(self):
        """The pad's keys down (or pressed since the last call): a string like '1#'."""
        self.i2c.readfrom_mem_into(self.addr, _KEYS, self._keys)
        out = ""
        k = self._keys
        for col in range(3):
            word = k[2 * col] | (k[2 * col + 1] << 8)
            for row in range(4):
                if word & (1 << row):
                    out += PAD[row * 3 + col]
        return out
