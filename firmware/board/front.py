"""The pile's front panel hardware (docs/hardware.md "The front"): one I2C bus carrying an
SC16IS752 (UART A: the PN532 card reader at 115200, UART B: the SYN6288 voice module at
9600, GPIOs: smoke, water, door, smoke-test) and an HT16K33 (digits, port LEDs, keypad),
plus the coin acceptor's pulse line on a GPIO counted by a PCNT unit (machine.Counter), so
no pulse is lost to a busy CPU.

open_hw(cfg, pmap) -> Hardware; raises OSError / ValueError when a part does not answer (the
app logs it and the pile charges without its front).
"""
from machine import I2C, Pin

from firmware.board.sc16is752 import Bridge

try:
    from machine import Counter  # ESP32 port >= 1.25: PCNT
except ImportError:  # older firmware: count edges in an IRQ (no glitch filter)
    Counter = None


class _IrqCounter:
    def __init__(self, pin):
        self.n = 0
        pin.irq(self._edge, Pin.IRQ_FALLING)

    def _edge(self, _pin):
        self.n += 1

    def value(self):
        return self.n


class Hardware:
    """What the front's drivers are given: streams, the panel, the coin count, the GPIOs."""

    def __init__(self):
        self.bridge = None
        self.card = None  # Channel A
        self.voice = None  # Channel B
        self.panel = None
        self.coins = None  # .value(): pulses counted since power-on
        self.missing = []  # parts that did not answer: (what, reason)

    def rtc_unix(self):
        """The RTC's time when plausible (kept over resets, lost with the power), or None."""
        from firmware.board.clock import rtc_unix

        return rtc_unix()

    def sensors(self):
        """The bridge's GPIO levels as a byte (bit n = GPIOn), or None without a bridge."""
        return self.bridge.gpio() if self.bridge is not None else None

    def set_outputs(self, mask, value):
        if self.bridge is not None:
            self.bridge.gpio_set(value & mask)


def open_hw(cfg, pmap):
    f = cfg["front"]
    scl, sda = pmap["front_i2c"]
    i2c = I2C(f["i2c_id"], scl=Pin(scl), sda=Pin(sda), freq=f["i2c_hz"])
    hw = Hardware()
    try:
        br = Bridge(i2c, f["bridge_addr"], f["bridge_xtal_hz"])
        br.reset()
        hw.card = br.setup(0, 115200)  # PN532 HSU default
        hw.voice = br.setup(1, 9600)  # SYN6288 default
        a = cfg["alarm"]
        out = 0
        if a["smoke_test_io"] >= 0:
            out |= 1 << a["smoke_test_io"]
        br.gpio_set(0)
        br.gpio_dir(out)
        hw.bridge = br
    except OSError as e:
        hw.missing.append(("bridge", repr(e)))
    if cfg["front"]["display"]:
        try:
            from firmware.board.ht16k33 import Panel

            hw.panel = Panel(i2c, f["display_addr"], f["dim"])
        except OSError as e:
            hw.missing.append(("panel", repr(e)))
    c = cfg["coin"]
    if c["enabled"] and pmap.get("coin") is not None:
        pin = Pin(pmap["coin"], Pin.IN, Pin.PULL_UP)
        if Counter is not None:
            hw.coins = Counter(c["unit"], pin, edge=Counter.FALLING, filter_ns=c["filter_ns"])
        else:
            hw.coins = _IrqCounter(pin)
    return hw
