"""Config validation figures: heap of firmware.config and of one validate() (the rules
modules load one at a time and are dropped), its time, under micropython from the compiled
app (build/x64, as a board loads it) in a 64K heap; and the same validate() under CPython.

Host figures: an ESP32 is slower per operation and its pointers are half the size (the heap
figures are upper bounds). Usage: .venv/bin/python bench/config.py (after `make build`)
"""
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))
from mpy import micropython_bin  # noqa: E402

PROGRAM = r'''
import gc, sys, time, json
gc.collect(); base = gc.mem_free()
from firmware import config
gc.collect(); mod = base - gc.mem_free()
stored = json.loads(sys.argv[1])
gc.collect(); before = gc.mem_free()
cfg = config.validate(stored)
gc.collect(); after = gc.mem_free()
kept = before - after
del cfg
gc.collect(); residue = before - gc.mem_free()
n = 20
t0 = time.ticks_us()
for _ in range(n):
    config.validate(stored)
us = time.ticks_diff(time.ticks_us(), t0) // n
gc.collect(); f1 = gc.mem_free()
config.validate(stored)
gc.collect(); again = f1 - gc.mem_free()
# the largest rules module with its imports: the heap validate() needs on top of the config
gc.collect()
big = 0
for name in sorted(set(r[1] for r in config.RULES)):
    gc.collect(); f0 = gc.mem_free()
    before_mods = set(sys.modules)
    __import__(name)
    gc.collect(); big = max(big, f0 - gc.mem_free())
    config.forget(set(sys.modules) - before_mods)
print(json.dumps({"module": mod, "cfg": kept, "residue": residue, "again": again, "us": us, "rules_max": big}))
'''

STORED = {"pile": {"id": "PILE-0042", "ports": 10}, "wifi": {"networks": [{"ssid": "depot", "key": "secret-123"}]},
          "modem": {"apn": "cmnet"}, "ota": {"url": "https://rel.example.com/upile", "window": "01:00-05:00"},
          "tariff": {"mode": "tiers"}}


def main():
    build = ROOT / "build" / "x64"
    if not (build / "firmware" / "config.mpy").exists():
        sys.exit("run `make build` first (build/x64 has no firmware/config.mpy)")
    env = {"MICROPYPATH": "%s:%s" % (build, build / "lib")}
    with tempfile.TemporaryDirectory(prefix="upile-bench-config-") as tmp:
        prog = Path(tmp) / "prog.py"
        prog.write_text(PROGRAM)
        p = subprocess.run([micropython_bin(), "-X", "heapsize=64K", str(prog), json.dumps(STORED)],
                           capture_output=True, text=True, env=env, timeout=120)
    if p.returncode != 0:
        sys.exit("micropython failed:\n" + p.stdout + p.stderr)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    print("micropython, 64K heap, compiled app: firmware.config resident %d bytes; a complete config %d bytes"
          % (r["module"], r["cfg"]))
    print("validate(): %d us per call (every section's rules); largest rules module in the heap at once "
          "%d bytes; left after the first validate() %d bytes (the rules' qstrs stay interned), after "
          "the next %d bytes" % (r["us"], r["rules_max"], r["residue"], r["again"]))
    from upile import hostconfig

    fc = hostconfig.firmware_config()
    fc.validate(STORED)
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        fc.validate(STORED)
    print("CPython validate(): %.2f ms per call (rules modules re-imported each call)"
          % ((time.perf_counter() - t0) * 1000 / n))


if __name__ == "__main__":
    main()
