"""DNY benchmark: prints the heap of the DNY layer (idle, and with 10 ports charging), the
bytes a day it costs on the cellular budget (idle and charging), and the in-band update's
throughput at 200-byte packets over an emulated Cat.1 link (the sim board).

Heap and traffic: bench/_dny_device.py runs the real client on the app's compiled modules
(build/x64, as a slot holds them) over the real Station and Pile (test board and physics),
against `upile dny-server` on loopback; intervals are divided by SCALE so an hour of traffic
takes a minute, and the counts are scaled back. The update: a sim pile (modem peer, PPP) is
pushed a release by the server through its link model (one-way latency LATENCY_MS, the
uplink's bytes per second), once with the guide's pacing (0.5 s between frames, both sides)
and once without."""
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds ed25519.py (a benchmark): off the path, or it shadows lib/ed25519.py
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests"), str(ROOT / "tests" / "host")]
from mpy import micropython_bin  # noqa: E402
from upile.cmd_build import build  # noqa: E402
from upile.dnyserver import DnyServer  # noqa: E402

SCALE = 60  # heartbeat 180 s -> 3 s: an hour in a minute
LATENCY_MS = 35  # one way: Cat.1 round trips are typically 50-100 ms in the field (our assumption)
UPLINK_BPS = 5 * 1024 * 1024 // 8  # LTE Cat.1: 5 Mbit/s up, 10 down (3GPP UE category 1)
SEGMENT = 40 + 40  # IPv4 + TCP header of a segment, and of the ACK that answers it


def _env():
    b = build("x64")
    return dict(os.environ, MICROPYPATH=":".join([".frozen", str(b), str(Path(b) / "lib"), str(ROOT / "tests" / "device"),
                                                    str(ROOT / "bench"), str(ROOT)]))


def device(mode, srv, tmp):
    env = _env()
    env["UPILE_TMP"] = tmp
    return subprocess.Popen([micropython_bin(), "-X", "heapsize=1M", str(ROOT / "bench" / "_dny_device.py"), mode,
                             str(srv.port), str(SCALE)], cwd=tmp, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def lines_of(p, seen):
    for line in p.stdout:
        seen.append(line.rstrip("\n"))


def wait_line(seen, text, timeout=300):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for line in seen:
            if line.startswith(text):
                return line
        time.sleep(0.05)
    raise RuntimeError("no %r from the device: %s" % (text, seen[-20:]))


def _counts(srv):
    """(bytes from the pile, bytes to it, segments both ways: frames and `link`s)."""
    return srv.bytes_in, srv.bytes_out, srv.frames_in + srv.frames_out + srv.links


def heap_and_traffic():
    with tempfile.TemporaryDirectory() as tmp:
        srv = DnyServer(gap_s=0.5 / SCALE).start()
        try:
            p = device("control", srv, tmp)
            out, err = p.communicate(timeout=300)
            control = int(re.search(r"heap_charging_only (\d+)", out).group(1))
            p = device("dny", srv, tmp)
            seen = []
            threading.Thread(target=lines_of, args=(p, seen), daemon=True).start()
            wait_line(seen, "READY")
            phys = srv.wait_pile(30)
            b0 = _counts(srv)
            time.sleep(3600 / SCALE)  # an hour of an idle pile
            b1 = _counts(srv)
            for port in range(10):
                srv.start_order(phys, port, 0, 36000)
            wait_line(seen, "CHARGING")
            b2 = _counts(srv)
            wait_line(seen, "DONE", 3600 / SCALE * 3 + 60)
            b3 = _counts(srv)
            p.wait(30)
        finally:
            srv.close()
    code = int(wait_line(seen, "heap_dny_code").split()[1])
    idle = int(wait_line(seen, "heap_dny_idle").split()[1])
    charging = int(wait_line(seen, "heap_dny_charging").split()[1])
    print("DNY layer heap (compiled app, 64-bit host): idle and connected %d bytes (%d of it the modules' bytecode, "
          "which a frozen image keeps in flash); with 10 ports charging %d bytes more than the same 10 sessions "
          "without DNY" % (idle, code, charging - control))
    for name, a, b in (("idle pile", b0, b1), ("10 ports charging", b2, b3)):
        tx, rx, segs = b[0] - a[0], b[1] - a[1], 24 * (b[2] - a[2])
        day = 24 * (tx + rx)
        print("cellular per day, %s: %d bytes of DNY (pile %d, server %d), ~%d KB with TCP/IP headers and ACKs "
              "(%d B per segment), ~%.1f MB a month" % (name, day, 24 * tx, 24 * rx, (day + segs * SEGMENT) // 1024,
                                                         SEGMENT, (day + segs * SEGMENT) * 30 / 1e6))


def ota():
    import dnysim
    from upile import release
    from upile.factory import framed
    from upile.sim import otakit

    import json
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        key, keys = otakit.dev_key(work / "key")
        made = {}
        for ver, counter in (("1.0.0", 1), ("2.0.0", 2)):
            tree = otakit.app_tree(work / ("tree-" + ver), ver)
            made[ver] = (tree, otakit.make(work / ("rel-" + ver), tree, ver, counter, key),
                         release.write_container(work / ("rel-" + ver), work / (ver + ".upr")))
        size = made["2.0.0"][2].stat().st_size
        for label, pile_gap, srv_gap, packets in (("the guide's pacing (0.5 s between frames)", 500, 0.5, 40),
                                                  ("no pacing", 0, 0.0, None)):
            srv = DnyServer(gap_s=srv_gap).start()
            srv.faults.update(latency_ms=LATENCY_MS, bytes_per_s=UPLINK_BPS)
            cfg = dnysim.config(srv.port, gap_ms=pile_gap)
            cfg["ota"] = {"health_s": 3}
            files = otakit.factory_files(made["1.0.0"][0], work / "rel-1.0.0", made["1.0.0"][1], keys, cfg)
            files["/config/pile.json"] = framed(json.dumps(cfg))
            pile = dnysim.Pile(work / ("board-%d" % pile_gap), srv.port, files=files)
            try:
                pile.board.power_on()
                phys = srv.wait_pile(120)
                times = []
                fut = srv.push_async(phys, made["2.0.0"][2], timeout=10,
                                     progress=lambda k, code, pk: times.append(time.monotonic()))
                want = packets or (size + 199) // 200
                end = time.monotonic() + 1200
                while len(times) < want and time.monotonic() < end:
                    time.sleep(0.05)
                n = len(times) - 1
                rate = n * 200 / (times[-1] - times[0])
                extra = ""
                if packets is None:
                    fut.result(60)
                    extra = "; the whole %d-byte release in %.0f s" % (size, times[-1] - times[0])
                else:
                    fut.cancel()  # enough packets for the rate
                print("in-band update over Cat.1 (%d ms one way), %s: %.0f B/s, %.2f s per 200-byte packet%s" % (
                    LATENCY_MS, label, rate, 200 / rate, extra))
            finally:
                pile.close()
                srv.close()


def main():
    heap_and_traffic()
    ota()
    return 0


if __name__ == "__main__":
    sys.exit(main())
