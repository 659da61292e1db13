"""The sim chip's `machine`: the ESP32 port's API, played by the harness over _simlink.

Overrides the Unix port's small built-in (which stays reachable as `umachine`). Output pin
levels, UART opens, resets and watchdog feeds go to the harness; input levels and ADC
readings come from it. Signatures and constants follow the ESP32 port.
"""
from umachine import *  # noqa: F401,F403  (mem8/mem16/mem32, Signal, time_pulse_us)
import os
import sys
import time
import _simlink
from _simuart import UART  # noqa: F401

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
PIN_WAKE = 2
EXT0_WAKE = 2
EXT1_WAKE = 3
TIMER_WAKE = 4
TOUCHPAD_WAKE = 5
ULP_WAKE = 6

_freq = 160000000


def reset_cause():
    return _simlink.env_int("UPILE_SIM_CAUSE", PWRON_RESET)


def wake_reason():
    return TIMER_WAKE if reset_cause() == DEEPSLEEP_RESET else 0


def _halt(line):
    # the harness ends this process; until then nothing else may run
    _simlink.send(line)
    while True:
        time.sleep_ms(1000)


def reset():
    _halt("reset hard")


def soft_reset():
    _halt("reset soft")


def deepsleep(time_ms=0):
    _halt("deepsleep %d" % time_ms)


def lightsleep(time_ms=0):
    _simlink.wait(time_ms)


def idle():
    _simlink.drain()
    time.sleep_ms(1)


def unique_id():
    return bytes.fromhex(os.getenv("UPILE_SIM_UID") or "24 0a c4 00 00 01".replace(" ", ""))


def freq(hz=None):
    global _freq
    if hz is None:
        return _freq
    if hz not in (20000000, 40000000, 80000000, 160000000, 240000000):
        raise ValueError("frequency must be 20MHz, 40MHz, 80Mhz, 160MHz or 240MHz")
    _freq = hz


def disable_irq():
    return 0


def enable_irq(state=0):
    pass


class Pin:
    """A GPIO. Outputs are reported to the harness; inputs read what it set."""

    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2
    WAKE_LOW = 4
    WAKE_HIGH = 5
    DRIVE_0 = 0
    DRIVE_1 = 1
    DRIVE_2 = 2
    DRIVE_3 = 3

    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=None, hold=None):
        if not isinstance(id, int) or id < 0 or id > 39:
            raise ValueError("invalid pin")
        self._id = id
        self._mode = None
        self._pull = None
        self._out = 0
        self.init(mode, pull, value=value)

    def init(self, mode=-1, pull=-1, *, value=None, drive=None, hold=None):
        if mode != -1 and mode is not None:
            if mode in (Pin.OUT, Pin.OPEN_DRAIN) and 34 <= self._id <= 39:
                raise ValueError("pin can only be input")
            self._mode = mode
        if pull != -1:
            self._pull = pull
        if value is not None:
            self._out = 1 if value else 0
        if self._mode in (Pin.OUT, Pin.OPEN_DRAIN):
            _simlink.send("pin %d %d" % (self._id, self._out))

    def value(self, v=None):
        if v is None:
            if self._mode == Pin.OUT:
                return self._out
            _simlink.drain()
            level = _simlink.inputs.get(self._id)
            if level is None:
                # floating input: the pull decides (a pin without pull reads 0 here)
                level = 1 if self._pull == Pin.PULL_UP else 0
            return level
        v = 1 if v else 0
        if v != self._out or self._mode is None:
            self._out = v
            if self._mode in (Pin.OUT, Pin.OPEN_DRAIN):
                _simlink.send("pin %d %d" % (self._id, v))
        return None

    __call__ = value

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=3, *, wake=None, hard=False):
        _simlink.set_irq(self._id, handler, trigger, self)
        _simlink.drain()
        if self._id not in _simlink.inputs:
            _simlink.inputs[self._id] = self.value()
        return None

    def __repr__(self):
        return "Pin(%d)" % self._id


class ADC:
    """12-bit ADC; the harness sets each pin's raw reading (b.set_adc)."""

    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_12BIT = 12
    _FULL_UV = (950000, 1250000, 1750000, 3100000)

    def __init__(self, pin, *, atten=ATTN_11DB):
        self._id = pin._id if isinstance(pin, Pin) else int(pin)
        if not 32 <= self._id <= 39:
            raise ValueError("invalid pin for ADC")
        self._atten = atten

    def atten(self, a):
        self._atten = a

    def width(self, w):
        pass

    def read(self):
        _simlink.drain()
        return _simlink.adc.get(self._id, 0)

    def read_u16(self):
        raw = self.read()
        return (raw << 4) | (raw >> 8)

    def read_uv(self):
        return self.read() * ADC._FULL_UV[self._atten] // 4095


class WDT:
    """Task watchdog: armed at the harness, which resets the chip with WDT_RESET if
    feed() stops. It cannot be stopped, and it stays armed across a soft reset (only a
    hard reset, a watchdog reset or a power cut stops it). There is one per chip: a new
    WDT(timeout=t) reconfigures it with t and restarts its count, as the ESP32 port's
    esp_task_wdt_reconfigure() does (docs/platform.md)."""

    def __init__(self, id=0, timeout=5000):
        if id != 0:
            raise ValueError()
        if timeout < 1:
            raise ValueError("WDT timeout too short")
        _simlink.send("wdt %d" % timeout)

    def feed(self):
        _simlink.send("feed")


class RTC:
    """Clock = host clock + an offset kept by the harness until power is cut.
    memory() (2 KiB) survives every reset except a power cut, as on the ESP32 (its
    RTC_NOINIT user memory). A write lands at once, as on the chip: it goes to the host
    file the harness clears at power-on (opened by _start.py, `_simlink.rtcmem`), not
    over the link, whose last lines a crashing chip can lose."""

    def __init__(self, id=0):
        pass

    def datetime(self, dt=None):
        off = _simlink.env_int("UPILE_SIM_RTC", 0) if not hasattr(RTC, "_off") else RTC._off
        if dt is None:
            t = time.localtime(time.time() + off)
            return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0)
        secs = time.mktime((dt[0], dt[1], dt[2], dt[4], dt[5], dt[6], 0, 0))
        RTC._off = int(secs - time.time())
        _simlink.send("rtc %d" % RTC._off)

    def init(self, dt):
        self.datetime(dt)

    def memory(self, data=None):
        f = _simlink.rtcmem  # a 2-byte length, then the bytes
        if data is None:
            if f is None:
                return b""
            f.seek(0)
            n = f.read(2)
            return f.read(n[0] | n[1] << 8) if len(n) == 2 else b""
        if len(data) > 2048:
            raise ValueError("buffer too long")
        if f is not None:
            f.seek(0)
            f.write(bytes((len(data) & 0xFF, len(data) >> 8)) + bytes(data))
            f.flush()


def time_pulse_us(pin, level, timeout_us=1000000):
    return -2
