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


class I2C:
    """I2C controller (the ESP32 port's API). Each transaction goes to the harness, whose
    devices answer it (tools/upile/sim/i2c.py); a write with stop=False is held and sent
    with the read that follows as one transaction with a repeated start, as on the wire.
    No device at the address: OSError(ENODEV), as the ESP32 port raises; no answer from
    the harness: OSError(ETIMEDOUT)."""

    def __init__(self, id=0, *, scl=None, sda=None, freq=400000, timeout=50000):
        if id not in (0, 1):
            raise ValueError("I2C(%d) doesn't exist" % id)
        self._id = id
        self._held = None
        self.init(scl=scl, sda=sda, freq=freq, timeout=timeout)

    def init(self, *, scl=None, sda=None, freq=400000, timeout=50000):
        # the ESP32 port's defaults: I2C(0) on 18/19, I2C(1) on 25/26
        self._scl = scl._id if isinstance(scl, Pin) else (scl if scl is not None else (18, 25)[self._id])
        self._sda = sda._id if isinstance(sda, Pin) else (sda if sda is not None else (19, 26)[self._id])
        if 34 <= self._scl <= 39 or 34 <= self._sda <= 39:
            raise ValueError("pin can only be input")
        self._freq = freq
        _simlink.send("i2cbus %d %d %d %d" % (self._id, self._scl, self._sda, freq))

    def _xfer(self, addr, wbuf, rlen):
        held, self._held = self._held, None
        if held is not None:
            if held[0] != addr:
                self._xfer(held[0], held[1], 0)
            else:
                wbuf = held[1] + bytes(wbuf or b"")
        w = bytes(wbuf).hex() if wbuf else "-"
        ans = _simlink.request("i2c SEQ %d %d %s %d" % (self._id, addr & 0x7F, w, rlen))
        if ans is None:
            raise OSError(116)  # ETIMEDOUT
        status, _, data = ans.partition(" ")
        if status != "ack":
            raise OSError(19)  # ENODEV: no ACK for the address
        return bytes.fromhex(data) if rlen else b""

    def scan(self):
        found = []
        for a in range(0x08, 0x78):
            ans = _simlink.request("i2c SEQ %d %d - 0" % (self._id, a))
            if ans is not None and ans.startswith("ack"):
                found.append(a)
        return found

    def writeto(self, addr, buf, stop=True):
        if not stop:
            self._held = (addr, bytes(buf))
            return len(buf)
        self._xfer(addr, buf, 0)
        return len(buf)

    def writevto(self, addr, vector, stop=True):
        return self.writeto(addr, b"".join(bytes(v) for v in vector), stop)

    def readfrom(self, addr, nbytes, stop=True):
        return self._xfer(addr, None, nbytes)

    def readfrom_into(self, addr, buf, stop=True):
        data = self._xfer(addr, None, len(buf))
        buf[: len(data)] = data

    def _mem(self, memaddr, addrsize):
        return memaddr.to_bytes(addrsize // 8, "big")

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        self._xfer(addr, self._mem(memaddr, addrsize) + bytes(buf), 0)

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        return self._xfer(addr, self._mem(memaddr, addrsize), nbytes)

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        data = self._xfer(addr, self._mem(memaddr, addrsize), len(buf))
        buf[: len(data)] = data


SoftI2C = I2C


class Counter:
    """Pulse counter (the ESP32 port's machine.Counter on a PCNT unit): counts the chosen
    edge of `src` whatever the chip is doing (the harness's pin lines are counted as they
    are applied, never lost to a busy chip). filter_ns is the PCNT glitch filter: a pulse
    shorter than it is not counted (the ESP32's filter reaches 1023 APB cycles, ~12.8 us)."""

    RISING = 1
    FALLING = 2
    UP = 1
    DOWN = -1
    _units = {}

    def __new__(cls, id, *args, **kw):
        if not 0 <= id <= 7:
            raise ValueError("invalid id")
        u = Counter._units.get(id)
        if u is None:
            u = object.__new__(cls)
            u._id = id
            u._pin = None
            u._n = 0
            Counter._units[id] = u
        return u

    def __init__(self, id, src=None, *, edge=1, direction=1, filter_ns=0):
        if src is not None:
            self.init(src, edge=edge, direction=direction, filter_ns=filter_ns)

    def init(self, src, *, edge=1, direction=1, filter_ns=0):
        if filter_ns > 12787:
            raise ValueError("filter_ns too large")
        self.deinit()
        self._pin = src._id if isinstance(src, Pin) else int(src)
        self._edge_kind, self._dir, self._filter = edge, direction, filter_ns
        self._n = 0
        _simlink.drain()
        _simlink.add_counter(self._pin, self)

    def _edge(self, level, width_us):
        if (1 if level else 2) != self._edge_kind:
            return
        if width_us is not None and width_us * 1000 < self._filter:
            return  # the PCNT glitch filter swallows it
        self._n += self._dir

    def value(self, value=None):
        _simlink.drain()
        old = self._n
        if value is not None:
            self._n = value
        return old

    def deinit(self):
        _simlink.drop_counter(self)


def time_pulse_us(pin, level, timeout_us=1000000):
    return -2
