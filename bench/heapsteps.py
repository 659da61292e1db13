"""Where the whole firmware's heap goes (docs/ocpp.md "Memory and figures"): the live heap
each start step of firmware/app.py `run` adds (gc.mem_alloc after a collection, before and
after the step), on the sim board with the app frozen into bench/ocpp.py's interpreter
(32-bit x86 by default, the size of an ESP32's words), OCPP + OTA idle + 10 ports charging +
Wi-Fi; then what the running tasks hold beyond the start (connections, sessions, queues).
Prints the steps ranked by size. Run: `.venv/bin/python bench/heapsteps.py [64]`.

The probes are code put ahead of main.py on the chip's flash: they wrap app.py's start_*
functions and the core constructors, and print "HEAPSTEP <step> <bytes> <modules it loaded>".
Their own globals (a few hundred bytes) are in the "before the app" figure.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBES = b'''import gc as _gc
import sys as _sys


def _live():
    _gc.collect()
    return _gc.mem_alloc()


def _probe(label, f):
    def probe(*a, **k):
        m = list(_sys.modules)
        b = _live()
        r = f(*a, **k)
        n = _live() - b
        print("HEAPSTEP %s %d %s" % (label, n, ",".join(x for x in _sys.modules if x not in m) or "-"))
        m = None
        return r
    return probe


print("HEAPSTEP before-the-app %d -" % _live())
_m = list(_sys.modules)
_b = _live()
import fsatomic as _fsatomic, log as _log
from firmware import app as _app, bus as _bus, cfgguard as _cfgguard, diag as _diag, station as _station
from firmware import supervisor as _supervisor
from firmware.board import system as _system
print("HEAPSTEP imports %d %s" % (_live() - _b, ",".join(x for x in _sys.modules if x not in _m)))
for _n in ("start_maint", "start_console", "start_front", "start_loadcheck", "start_backend", "start_ocpp",
           "start_net", "start_charging", "start_ota", "_health"):
    setattr(_app, _n, _probe(_n, getattr(_app, _n)))
_log.enable_ring = _probe("log.enable_ring", _log.enable_ring)
_cfgguard.load = _probe("cfgguard.load", _cfgguard.load)
_bus.Bus = _probe("Bus()", _bus.Bus)
_station.Station = _probe("Station()", _station.Station)
_supervisor.Supervisor = _probe("Supervisor()", _supervisor.Supervisor)
_n = _m = _b = None
'''


def steps(binary, whole_firmware, heap="1M"):
    """([(step, bytes, modules loaded)...] in start order, the live heap with 10 ports
    charging, the note), or None when the run failed; whole_firmware: bench/ocpp.py's."""
    text = []
    ok, live, note = whole_firmware(binary, heap, main_prefix=PROBES, console=text)
    if not ok:
        print("heap steps: the whole firmware failed (%s)" % note)
        return None
    out = []
    for line in text[0].splitlines():
        if line.startswith("HEAPSTEP "):
            _, name, n, mods = line.split()
            out.append((name, int(n), [] if mods == "-" else mods.split(",")))
    return out, live, note


def report(label, r):
    """Prints the steps ranked by size; returns [(step, bytes)] ranked."""
    found, live, note = r
    before = found[0][1]
    started = sum(n for _, n, _ in found[1:])
    ranked = sorted([(name, n, m) for name, n, m in found[1:]] +
                    [("running tasks (connections, sessions, queues, buffers)", live - before - started, [])],
                    key=lambda x: -x[1])
    print("whole firmware heap by start step (%s, OCPP + OTA idle + 10 ports charging + Wi-Fi, %s): %.1f KB live; "
          "before the app (sim chip shims, boot.py, main.py) %.1f KB" % (label, note, live / 1024.0, before / 1024.0))
    for name, n, m in ranked:
        print("  %-55s %6.1f KB%s" % (name, n / 1024.0, "  (%d modules: %s)" % (len(m), " ".join(m)) if m else ""))
    return [(name, n) for name, n, _ in ranked]


def main():
    sys.path.insert(0, str(ROOT / "bench"))
    import importlib.util

    spec = importlib.util.spec_from_file_location("_ocpp_bench", ROOT / "bench" / "ocpp.py")
    ob = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ob)
    bits = 64 if sys.argv[1:] == ["64"] else 32
    prog = ob.frozen_binary(bits)
    if prog is None:
        print("heap steps, %d-bit: not measured: no %s" % (
            bits, "32-bit toolchain (Debian: gcc-multilib) or MicroPython source tree" if bits == 32
            else "MicroPython source tree"))
        return 0
    r = steps(prog, ob.whole_firmware)
    if r:
        report("app frozen, %d-bit" % bits, r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
