"""Holtek HT16K33 on the sim board's I2C bus: the pile's 8-digit LED display, per-port LEDs
and 12-key keypad (one chip: 16x8 LED RAM, 13x3 key scan).

From the HT16K33 data sheet (Rev. 1.10) and the drivers that use it (Linux
drivers/auxdisplay/ht16k33.c, Adafruit's LED backpack libraries and its key-scan pull
request): one command byte per transaction -- 0x20/0x21 system setup (oscillator off/on;
no oscillator, no display and no key scan), 0x80-0x87 display setup (bit 0 on, bits 2-1
blink), 0xA0-0xA3 ROW/INT, 0xE0-0xEF dimming; 0x00-0x0F sets the display RAM pointer (data
bytes that follow are written with auto-increment, COM n = bytes 2n (ROW0-7) and 2n+1
(ROW8-15)); 0x40 points at the key data RAM (6 bytes: KS0 K1-K8, K9-K13, then KS1, KS2),
0x60 at the INT flag. Key scan runs every display cycle (~9.5 ms); a key must be seen in
two scans in a row (debounce). Key data bits stay set until the key RAM is read (a press
between two reads is not lost); a read clears them and the next scan sets the keys still
down again.

Wiring of the uPile front (docs/hardware.md): digit i (left to right) on COM i, ROW0-7 =
segments a-g and the decimal point; LED L (0-63) on COM L//8, ROW 8 + L%8, port n green
L = 2(n-1), red L = 2(n-1)+1; keys on KS0-KS2 (columns) x K1-K4 (rows) of a 3x4 pad.
"""
import threading

from upile.sim.i2c import I2CDevice

KEYS = ("123", "456", "789", "*0#")
_SCAN_S = 0.0095
_FONT = {0x3F: "0", 0x06: "1", 0x5B: "2", 0x4F: "3", 0x66: "4", 0x6D: "5", 0x7D: "6", 0x07: "7",
         0x7F: "8", 0x6F: "9", 0x77: "A", 0x7C: "b", 0x39: "C", 0x5E: "d", 0x79: "E", 0x71: "F",
         0x76: "H", 0x38: "L", 0x54: "n", 0x5C: "o", 0x73: "P", 0x50: "r", 0x78: "t", 0x3E: "U",
         0x40: "-", 0x08: "_", 0x00: " ", 0x6E: "y", 0x58: "c", 0x1C: "u", 0x10: "i", 0x3D: "G",
         0x63: "o", 0x37: "N", 0x74: "h", 0x30: "I", 0x1E: "J"}


def key_bit(key):
    """(ks, k) of a key of the 3x4 pad: column ks 0-2, row bit k 0-3."""
    for r, row in enumerate(KEYS):
        if key in row:
            return row.index(key), r
    raise ValueError("no key %r on the pad" % key)


class HT16K33(I2CDevice):
    def __init__(self):
        self.lock = threading.Lock()
        self.ram = bytearray(16)
        self.osc = False
        self.on = False
        self.blink = 0
        self.dim = 15
        self.ptr = 0
        self._down = set()  # keys the finger holds
        self._seen = {}  # key -> consecutive scans seen down
        self._debounced = set()
        self._latched = set()
        self._next_scan = None
        self.writes = 0

    # ---- the user's finger
    def press(self, key):
        key_bit(key)
        with self.lock:
            self._down.add(key)

    def release(self, key):
        with self.lock:
            self._down.discard(key)

    # ---- what a person sees
    def digits(self):
        """The 8 digits as text (decimal points as '.' after their digit), '' when dark."""
        with self.lock:
            if not (self.osc and self.on):
                return ""
            out = []
            for i in range(8):
                b = self.ram[2 * i]
                out.append(_FONT.get(b & 0x7F, "?"))
                if b & 0x80:
                    out.append(".")
            return "".join(out)

    def led(self, n):
        """Port n's LEDs: 'green', 'red', 'both' or 'off'."""
        with self.lock:
            lit = self.on and self.osc
            g = lit and self._bit(2 * (n - 1))
            r = lit and self._bit(2 * (n - 1) + 1)
        return "both" if g and r else "green" if g else "red" if r else "off"

    def _bit(self, L):
        return bool(self.ram[2 * (L // 8) + 1] & (1 << (L % 8)))

    # ---- I2C
    def xfer(self, wdata, rlen):
        with self.lock:
            if wdata:
                c = wdata[0]
                hi = c & 0xF0
                if c <= 0x0F:
                    self.ptr = c
                    for b in wdata[1:]:
                        self.ram[self.ptr] = b
                        self.ptr = (self.ptr + 1) & 0x0F
                        self.writes += 1
                elif hi == 0x20:
                    self.osc = bool(c & 1)
                elif hi == 0x80:
                    self.on, self.blink = bool(c & 1), (c >> 1) & 3
                elif hi == 0xE0:
                    self.dim = c & 0x0F
                elif c in (0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x60) or hi == 0xA0:
                    self.ptr = c
            out = bytearray()
            for _ in range(rlen):
                out.append(self._read())
            return bytes(out)

    def _read(self):
        p = self.ptr
        if p <= 0x0F:
            self.ptr = (p + 1) & 0x0F
            return self.ram[p]
        if 0x40 <= p <= 0x45:
            word = 0
            ks = (p - 0x40) // 2
            for key in self._latched:
                c, r = key_bit(key)
                if c == ks:
                    word |= 1 << r
            v = (word >> 8) if (p - 0x40) & 1 else word & 0xFF
            self.ptr = p + 1 if p < 0x45 else 0x40
            if p == 0x45:  # the whole key RAM was read: cleared, the next scan sets what is down
                self._latched = set()
            return v
        if p == 0x60:
            return 0xFF if self._latched else 0x00
        return 0

    def tick(self, now):
        with self.lock:
            if not self.osc:
                self._next_scan = None
                return
            if self._next_scan is None:
                self._next_scan = now + _SCAN_S
            while now >= self._next_scan:
                self._next_scan += _SCAN_S
                for k in list(self._seen):
                    if k not in self._down:
                        del self._seen[k]
                        self._debounced.discard(k)
                for k in self._down:
                    self._seen[k] = self._seen.get(k, 0) + 1
                    if self._seen[k] >= 2:
                        self._debounced.add(k)
                self._latched |= self._debounced

    def on_power(self, on):
        with self.lock:
            self.ram[:] = bytes(16)
            self.osc = self.on = False
            self._seen.clear()
            self._debounced.clear()
            self._latched.clear()
