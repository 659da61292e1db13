"""The pile's front panel hardware (docs/hardware.md "The front"): one I2C bus carrying an
SC16IS752 (UART A: the PN532 card reader at 115200, UART B: the SYN6288 voice module at
9600, GPIOs: smoke, water, door, smoke-test) and an HT16K33 (digits, port LEDs, keypad),
plus the coin acceptor's pulse line on a GPIO counted by a PCNT unit (machine.Counter), so
no pulse is lost to a busy CPU.

open_hw(cfg, pmap) -> Hardware; raises OSError / ValueError when a part does not answer (the
app logs it and the pile charges without its front).
"""
from machine import I2C, Pin
from micropython import const

from firmware.board.sc16is752 import Bridge

# the front board's parts (docs/hardware.md "The front"): not config, they are the PCB's
_I2C_ID = const(0)
_I2C_HZ = const(400000)
_BRIDGE = const(0x48)  # SC16IS752, A1/A0 to VDD
_XTAL_HZ = const(14745600)
_PANEL = const(0x70)  # HT16K33
_DIM = const(8)
_PCNT_UNIT = const(0)
_COIN_FILTER_NS = const(12000)  # PCNT glitch filter: spikes on the acceptor's cable are not coins
_SMOKE_TEST_IO = const(3)  # the bridge GPIO driving the smoke detector's TEST input

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
    scl, sda = pmap["front_i2c"]
    i2c = I2C(_I2C_ID, scl=Pin(scl), sda=Pin(sda), freq=_I2C_HZ)
    hw = Hardware()
    try:
        br = Bridge(i2c, _BRIDGE, _XTAL_HZ)
        br.reset()
        hw.card = br.setup(0, 115200)  # PN532 HSU default
        hw.voice = br.setup(1, 9600)  # SYN6288 default
        out = (1 << _SMOKE_TEST_IO) if cfg["front"]["alarms"] & 8 else 0
        br.gpio_set(0)
        br.gpio_dir(out)
        hw.bridge = br
    except OSError as e:
        hw.missing.append(("bridge", repr(e)))
    try:
        from firmware.board.ht16k33 import Panel

        hw.panel = Panel(i2c, _PANEL, _DIM)
    except OSError as e:  # a pile without the panel: no display, no keypad
        hw.missing.append(("panel", repr(e)))
    if pmap.get("coin") is not None:
        pin = Pin(pmap["coin"], Pin.IN, Pin.PULL_UP)
        if Counter is not None:
            hw.coins = Counter(_PCNT_UNIT, pin, edge=Counter.FALLING, filter_ns=_COIN_FILTER_NS)
        else:
            hw.coins = _IrqCounter(pin)
    return hw
