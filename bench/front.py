"""Front benchmark: card tap to relay on (the sim pile, default card polling), the malicious-
load classifier's true/false positive rates and decision time over the generated set, and
the front's heap (code from .mpy, objects). Runs the sim board and micropython."""
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "host"))
from mpy import device_path, micropython_bin  # noqa: E402


def device():
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, UPILE_TMP=tmp)
        # the compiled app first (build/x64, `make build`): its heap is what a board loads
        env["MICROPYPATH"] = device_path(ROOT / "build" / "x64", ROOT / "build" / "x64" / "lib", ROOT / "bench")
        p = subprocess.run([micropython_bin(), "-X", "heapsize=512K", str(ROOT / "bench" / "_front_device.py"), "150"],
                           cwd=tmp, env=env, capture_output=True, text=True, timeout=900)
        sys.stdout.write(p.stdout)
        if p.returncode:
            sys.stderr.write(p.stderr)
        return p.returncode


def tap_to_relay(n=7):
    """ms from a card reaching the reader's field to the relay pin going high, with the
    card reader searched every 300 ms (firmware/front/core.py)."""
    import frontsim

    cards = {"/data/front/cards.txt": b"A1B2C3D4 full 0\n"}
    out = []
    with frontsim.pile(files=cards, heap="1M") as f:
        f.meter.command("plug 1 200 900 0.2")
        for k in range(n):
            f.keys("1#")
            f.said("1号端口，请刷卡", timeout=10)
            time.sleep(0.05 * (k % 6))  # land the tap at different points of the poll period
            t0 = time.monotonic()
            f.reader.tap(bytes.fromhex("A1B2C3D4"), hold_s=0.8)
            ev = f.b.wait_event("pin", lambda d: d == (25, 1), timeout=10, since=t0)
            out.append((ev[0] - t0) * 1000)
            f.svc.ok("stop 1")
            f.wait(lambda: f.relay(1) == 0, what="relay off")
            time.sleep(3.2)  # the same card again: a new tap only after 3 s away
    return out


def main():
    rc = device()
    ms = tap_to_relay()
    print("card tap to relay on (sim pile, a search every 300 ms): median %.0f ms, min %.0f, max %.0f over %d taps"
          % (statistics.median(ms), min(ms), max(ms), len(ms)))
    return rc


if __name__ == "__main__":
    sys.exit(main())
