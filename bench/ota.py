"""OTA figures: download throughput vs curl, differential bytes, peak heap, reset-to-app time.

Prints figures only (no asserts). Real processes: CPython release server on loopback,
`micropython` running the manifest check and fetcher (tests/host/ota_mem.py, as .mpy, the
app's modules as `upile build`'s .mpy files loaded into the heap) and the sim board.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# not bench/ itself: bench/ed25519.py would shadow lib/ed25519.py for the host's release check
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests"), str(ROOT / "tests" / "host")]

from upile.sim import otakit  # noqa: E402
import test_ota_memory as tm  # noqa: E402

SIZE = 1536 * 1024


def image_throughput(tmp):
    """(download ms, peak live heap, curl ms) of the 1.5 MB image update in tm.HEAP."""
    p = tm.run_update(tmp, "image")
    if p.returncode:
        raise SystemExit("image update failed:\n" + p.stdout + p.stderr)
    ms = int(re.search(r"^ms (\d+)", p.stdout, re.M).group(1))
    peak = int(re.search(r"peak_heap (\d+)", p.stdout).group(1))
    cms = None
    curl = shutil.which("curl")
    if curl:
        ch = otakit.Channel(tmp / "srv")
        try:
            t0 = time.monotonic()
            subprocess.run([curl, "-s", "-o", str(tmp / "curl.bin"), ch.url("rel") + "/image.bin"], check=True)
            cms = (time.monotonic() - t0) * 1000
        finally:
            ch.close()
    return ms, peak, cms


def smallest_heap(tmp, mode):
    """The smallest -X heapsize (1 KB steps) in which the whole update completes, and the
    live-heap marks (after gc) of a run at tm.HEAP."""
    def ok(k):
        d = tmp / ("%s-%d" % (mode, k))
        d.mkdir()
        return tm.run_update(d, mode, heap="%dK" % k).returncode == 0

    lo, hi = 32, 192
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    d = tmp / (mode + "-marks")
    d.mkdir()
    out = tm.run_update(d, mode).stdout
    marks = re.findall(r"^mark (.+) (\d+)$", out, re.M)
    peak = int(re.search(r"peak_heap (\d+)", out).group(1))
    return hi, marks, peak


def diff_and_boot(tmp):
    from otasim import Pile

    p = Pile(tmp / "pile", {"v1": ("1.0.0", 1, None, {}), "v2": ("1.0.1", 2, None, {})})
    try:
        t0 = time.monotonic()
        p.board.power_on()
        p.wait(r"uPile 1\.0\.0 on")
        boot_ms = (time.monotonic() - t0) * 1000
        p.board.power_cut()
        t0 = time.monotonic()
        p.board.power_on()
        p.wait(r"uPile 1\.0\.0 on")
        boot2_ms = (time.monotonic() - t0) * 1000
        p.publish("v2")
        p.wait(r"OTA Installed healthy v=1\.0\.1", 60)
        got = sum(r[3] for r in p.srv.log if r[0] == "bundle.bin")
        bundle = (p.work / "srv" / "v2" / "bundle.bin").stat().st_size
        return boot_ms, boot2_ms, got, bundle
    finally:
        p.close()


def main():
    with tempfile.TemporaryDirectory(prefix="upile-bench-ota-") as d:
        tmp = Path(d)
        ms, peak, cms = image_throughput(tmp)
        mbps = SIZE / 1e6 / (ms / 1000)
        print("image update 1.5 MB over loopback into sim partition (-X heapsize=%s, imports included): "
              "%.0f ms, %.1f MB/s" % (tm.HEAP, ms, mbps))
        if cms:
            print("curl of the same bytes into a file: %.0f ms, %.1f MB/s; OTA/curl throughput ratio %.2f"
                  % (cms, SIZE / 1e6 / (cms / 1000), (SIZE / ms) / (SIZE / cms)))
        print("peak live heap (after gc) during the image update (micropython -X heapsize=%s): %d bytes" % (tm.HEAP, peak))
        (tmp / "heap").mkdir()
        for mode, what in (("image", "1.5 MB image"), ("app", "%d-file app" % tm.APP_FILES)):
            k, marks, peak = smallest_heap(tmp / "heap", mode)
            print("%s: completes in -X heapsize=%dK and up (.mpy modules loaded into the heap); peak live heap %d bytes"
                  % (what, k, peak))
            print("  live heap at: " + ", ".join("%s %d" % (n, int(v)) for n, v in marks))
        boot_ms, boot2_ms, got, bundle = diff_and_boot(tmp)
        print("one-module change: %d bundle bytes downloaded of %d (%.2f %% of the full bundle)"
              % (got, bundle, 100.0 * got / bundle))
        print("sim board reset to application start: %.0f ms (first boot, slot pinned), %.0f ms (again)"
              % (boot_ms, boot2_ms))


if __name__ == "__main__":
    main()
