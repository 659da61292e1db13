"""OTA figures: download throughput vs curl, differential bytes, peak heap, reset-to-app time.

Prints figures only (no asserts). Real processes: CPython release server on loopback,
`micropython` running the fetcher (tests/host/ota_mem.py) and the sim board.
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
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests"), str(ROOT / "tests" / "host")]

from mpy import run_mpy  # noqa: E402
from upile.sim import otakit  # noqa: E402
import test_ota_memory as tm  # noqa: E402

SIZE = 1536 * 1024


def image_throughput(tmp):
    key, keys = otakit.dev_key(tmp / "key")
    ch = otakit.Channel(tmp / "srv")
    try:
        img = tmp / "fw.bin"
        img.write_bytes(os.urandom(SIZE))
        otakit.make(tmp / "srv" / "img", img, "2.0.0", 2, key, kind="image")
        kf = tmp / "keys.json"
        kf.write_text(__import__("json").dumps(keys))
        p = run_mpy(tm.HERE / "ota_mem.py", "image", ch.url("img"), kf, tmp / "flash.bin", tmp / "part.bin",
                    heap=tm.HEAP, timeout=120, env={"MICROPYPATH": tm._built_path(tmp)})
        ms = int(re.search(r"^ms (\d+)", p.stdout, re.M).group(1))
        peak = int(re.search(r"peak_heap (\d+)", p.stdout).group(1))
        curl = shutil.which("curl")
        cms = None
        if curl:
            t0 = time.monotonic()
            subprocess.run([curl, "-s", "-o", str(tmp / "curl.bin"), ch.url("img") + "/image.bin"], check=True)
            cms = (time.monotonic() - t0) * 1000
        return ms, peak, cms
    finally:
        ch.close()


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
        print("image update 1.5 MB over loopback into sim partition: %.0f ms, %.1f MB/s" % (ms, mbps))
        if cms:
            print("curl of the same bytes into a file: %.0f ms, %.1f MB/s; OTA/curl throughput ratio %.2f"
                  % (cms, SIZE / 1e6 / (cms / 1000), (SIZE / ms) / (SIZE / cms)))
        print("peak live heap (after gc) during the image update, incl. ~13 KB of sim flash objects (micropython -X heapsize=%s): %d bytes" % (tm.HEAP, peak))
        boot_ms, boot2_ms, got, bundle = diff_and_boot(tmp)
        print("one-module change: %d bundle bytes downloaded of %d (%.2f %% of the full bundle)"
              % (got, bundle, 100.0 * got / bundle))
        print("sim board reset to application start: %.0f ms (first boot, slot pinned), %.0f ms (again)"
              % (boot_ms, boot2_ms))


if __name__ == "__main__":
    main()
