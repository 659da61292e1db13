"""OCPP part 3 benchmark (docs/ocpp.md "Part 3: figures"): prints
- time from SetChargingProfile (a ChargePointMaxProfile lowering the pile's limit from now) to
  the pile under it, on the sim board against the bench CSMS: the call sent to the
  StatusNotification of the shed port (SuspendedEVSE) received; 2 ports charging 300 W each,
  limit 400 W; median and range over several runs;
- the heap of the charging-profile store at its maximum (8 profiles x 24 periods) and what one
  evaluation of all 11 connectors' limits allocates, and takes (10-port pile, Unix port);
- the local authorization list at its maximum length (1000 ids): a lookup's time and heap, a
  differential update of 100 ids, the whole list sent in 10 messages.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the CSMS runs on the `ocpp` package: bench/ocpp.py must not shadow it
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "host"))
sys.path.insert(0, str(ROOT / "tools"))
from mpy import micropython_bin  # noqa: E402

from upile import cmd_build, paths  # noqa: E402
from upile.csms import Csms  # noqa: E402

RUNS = 5


def device_figures():
    cmd_build.build("x64")
    build = paths.BUILD / "x64"
    path = ":".join([".frozen", str(ROOT / "tests" / "device"), str(build), str(build / "lib"), str(ROOT)])
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MICROPYPATH=path, UPILE_TMP=tmp)
        p = subprocess.run([str(micropython_bin()), "-X", "heapsize=1M", str(ROOT / "bench" / "_ocpp_smart_device.py"),
                            tmp + "/ocpp"], cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
    if p.returncode:
        raise SystemExit("device bench failed:\n" + p.stdout[-2000:] + p.stderr[-3000:])
    f = {}
    for line in p.stdout.splitlines():
        if line.startswith("FIG "):
            w = line.split()
            f[w[1]] = w[2:]
    return f


def iso(t):
    return datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def shed_times():
    from ocppsim import OcppPile

    times = []
    with Csms() as c, OcppPile(c, "CP1", hold_s=0) as pile:
        for port, tag in ((1, "a"), (2, "b")):
            assert pile.tap(port, tag).startswith("ok started")
            pile.plug(port, cc_w=300)
            pile.wait_status(port, "Charging")
        for i in range(RUNS):
            prof = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "ChargePointMaxProfile",
                    "chargingProfileKind": "Absolute",
                    "chargingSchedule": {"startSchedule": iso(time.time() - 5), "chargingRateUnit": "W",
                                         "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 400}]}}
            n = len(pile.p.statuses)
            t0 = time.monotonic()
            c.call("CP1", "SetChargingProfile", {"connectorId": 0, "csChargingProfiles": prof})
            c.wait(lambda: any(s["status"] == "SuspendedEVSE" for s in pile.p.statuses[n:]), 30, "the shed port")
            times.append(time.monotonic() - t0)
            c.call("CP1", "ClearChargingProfile", {})
            c.wait(lambda: pile.status_of(1) == "Charging" and pile.status_of(2) == "Charging", 60, "both charging")
    return times


def main():
    f = device_figures()
    times = shed_times()
    print("SetChargingProfile (pile limit 400 W from now, 2 ports at 300 W) to the shed port's SuspendedEVSE at the "
          "CSMS, sim board: median %.0f ms (%.0f-%.0f ms, %d runs)"
          % (statistics.median(times) * 1000, min(times) * 1000, max(times) * 1000, len(times)))
    print("charging-profile store at its maximum (%s profiles, %s periods): %s bytes of heap; one evaluation of all "
          "11 connectors' limits allocates %s bytes, %s us (64-bit Unix port)"
          % (f["profiles"][0], f["profiles"][2], f["profile_store_bytes"][0], f["limits_all_bytes"][0],
             f["limits_all_us"][0]))
    print("local list at its maximum length (%s ids, sorted 48-byte records on flash): lookup %s us, %s bytes of heap "
          "each (%s lookups, %s found); a differential update of 100 ids %s ms; the whole list in 10 messages %s ms"
          % (f["list_len"][0], f["list_lookup_us"][0], f["list_lookup_bytes"][0], f["list_lookups"][0],
             f["list_lookups"][2], f["list_diff_ms"][0], f["list_fill_ms"][0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
