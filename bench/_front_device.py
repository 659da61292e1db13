# Runs under micropython (bench/front.py starts it, the compiled app first on the path):
# the front's heap (its code loaded from .mpy, then its objects: drivers, prompt queue, the
# load check watching 10 sessions), and the malicious-load classifier over the generated set.
import gc
import sys

gc.collect()
base = gc.mem_alloc()
from firmware import config  # noqa: E402
from firmware.bus import Bus  # noqa: E402
from firmware.station import Station  # noqa: E402

cfg = config.validate({"front": {"enabled": True}, "charging": {"board": "esp32-10p-f"}})
config.forget([m for m in sys.modules if m.startswith("firmware.") and m.endswith("rules")] + ["firmware.config"])
gc.collect()
app = gc.mem_alloc()
MODS = ("firmware.front.core", "firmware.front.starts", "firmware.front.cards", "firmware.front.pn532",
        "firmware.front.codes", "firmware.front.coins", "firmware.front.voice", "firmware.front.prompts",
        "firmware.front.display", "firmware.front.keypad", "firmware.front.alarms", "firmware.front.loadcheck",
        "firmware.front.classify", "firmware.board.sc16is752", "firmware.board.ht16k33")
for m in MODS:
    __import__(m)
gc.collect()
code = gc.mem_alloc() - app
from firmware.front.core import Front  # noqa: E402
from firmware.front.loadcheck import LoadCheck  # noqa: E402

import os  # noqa: E402

tmp = os.getenv("UPILE_TMP") or "."


class Part:
    def readinto(self, buf):
        return 0

    def write(self, data):
        return len(data)

    def value(self):
        return 0

    def keys(self):
        return ""

    def set_digit(self, i, v):
        pass

    def set_led(self, n, on):
        pass

    def show(self):
        pass


class Hw:
    bridge = card = voice = panel = coins = Part()
    missing = []

    def sensors(self):
        return 0

    def set_outputs(self, mask, value):
        pass


bus = Bus()
st = Station(cfg, bus)
gc.collect()
b0 = gc.mem_alloc()
front = Front(cfg, st, bus, Hw(), root=tmp)
lc = LoadCheck(cfg, st, bus)
for i in range(10):  # ten sessions being watched, the voice's and panel's queues full
    lc.watch[i + 1] = [i, __import__("firmware.front.classify", None, None, ["Classifier"]).Classifier(), 0]
for i in range(8):
    bus.publish("front.say", {"key": "coin_in", "port": None, "fen": 100 * i, "min": None, "why": None, "urgent": False})
gc.collect()
objs = gc.mem_alloc() - b0
print("front heap: code loaded from .mpy %d bytes (none when frozen), objects %d bytes (drivers, 8 queued prompts, "
      "10 sessions watched)" % (code, objs))
del front, lc
gc.collect()

# the classifier over the generated set
import loadgen  # noqa: E402
import time  # noqa: E402
from firmware.front.classify import Classifier  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 150
from firmware.front.classify import DEFAULTS  # noqa: E402

lcfg = DEFAULTS
for steady in (False, True):
    t0 = time.ticks_ms()
    r = loadgen.measure(lcfg, Classifier, n=N, steady=steady)
    bad = sum(r[k][0] for k in ("heater", "kettle", "mix"))
    caught = sum(r[k][1] for k in ("heater", "kettle", "mix"))
    times = []
    for k in ("heater", "kettle", "mix"):
        times += r[k][3]
    times.sort()
    print("classifier, %s mains: %d chargers, %d flagged (FPR %.1f %%), %d unknown; %d other loads, %d caught (TPR %.1f %%)"
          % ("steady" if steady else "moving", r["charger"][0], r["charger"][1], 100.0 * r["charger"][1] / r["charger"][0],
             r["charger"][2], bad, caught, 100.0 * caught / bad))
    for k in ("heater", "kettle", "mix"):
        n, fl, un, ts = r[k]
        print("  %-7s %3d of %3d caught, %d unknown" % (k, fl, n, un))
    if times:
        print("  decision after the load appeared: median %d s, max %d s (window %d s)"
              % (times[len(times) // 2] // 1000, times[-1] // 1000, lcfg["window_s"]))
cl = Classifier(lcfg)
t0 = time.ticks_us()
for i in range(2000):  # samples of a PFC charger on a moving mains (decided, then begun again)
    if cl.add(i * 1000, 200 + i % 3, 2200 + (i % 9) * 6, 990):
        cl.reset()
print("classifier CPU per sample: %.1f us (one sample per watched port per second)"
      % (time.ticks_diff(time.ticks_us(), t0) / 2000))
