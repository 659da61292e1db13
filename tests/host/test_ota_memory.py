"""OTA updates complete in the issue's bound: `micropython -X heapsize=64K`.

A 1.5 MB image into a spare partition, and a 300-file app (the real compiled app plus
data files, every file fetched) into an app slot: each through the real signature and
manifest checks, fetcher and HTTP client over loopback, the modules run as `upile build`'s
.mpy files loaded into the heap like a device imports its slot (tests/host/ota_mem.py says
exactly what is in the heap and mirrors the service's phases). Peak live heap: ~56 and ~58 KB of
the 64K (docs/ota.md, "Limits found").
"""
import json
import os
import re
import subprocess
from pathlib import Path

from mpy import micropython_bin
from upile import paths, release
from upile.cmd_build import build
from upile.sim import otakit

HERE = Path(__file__).parent
IMAGE_SIZE = 1536 * 1024
APP_FILES = 300
HEAP = "64K"
HEAP_BYTES = 64 * 1024


def compile_harness(out_dir):
    """tests/host/ota_mem.py as ota_mem.mpy in out_dir (compiling it in 64K would not fit)."""
    subprocess.run([paths.tool("mpy-cross"), "-march=x64", "-o", str(Path(out_dir) / "ota_mem.mpy"),
                    str(HERE / "ota_mem.py")], check=True)


def app_of(n_files, tree_dir, version="2.0.0"):
    """The compiled app plus data files under firmware/data/ up to n_files files."""
    tree = otakit.app_tree(tree_dir, version)
    have = sum(1 for p in tree.rglob("*") if p.is_file())
    rnd = __import__("random").Random(n_files)
    for i in range(n_files - have):
        p = tree / "firmware" / "data" / ("d%03d.bin" % i)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rnd.randbytes(rnd.randrange(200, 3000)))
    return tree


def run_update(tmp, mode, heap=HEAP, n_files=APP_FILES):
    """Make and serve a release, run ota_mem.mpy in `heap`; returns the CompletedProcess."""
    key, keys = otakit.dev_key(tmp / "key")
    compile_harness(tmp)
    (tmp / "keys.json").write_text(json.dumps(keys))
    with open(tmp / "flash.bin", "wb") as f:
        f.truncate(2 * 1024 * 1024)
    with open(tmp / "part.bin", "wb") as f:
        f.truncate(0x180000)
    if mode == "image":
        (tmp / "fw.bin").write_bytes(os.urandom(IMAGE_SIZE))
        otakit.make(tmp / "srv" / "rel", tmp / "fw.bin", "2.0.0", 2, key, kind="image")
    else:
        otakit.make(tmp / "srv" / "rel", app_of(n_files, tmp / "tree"), "2.0.0", 2, key)
    ch = otakit.Channel(tmp / "srv")
    try:
        app = Path(build("x64"))
        env = dict(os.environ, MICROPYPATH=str(tmp))
        return subprocess.run([micropython_bin(), "-X", "heapsize=" + heap, "-m", "ota_mem", mode, ch.url("rel"),
                               tmp / "keys.json", tmp / "flash.bin", tmp / "part.bin", app],
                              env=env, capture_output=True, text=True, timeout=120)
    finally:
        ch.close()


def _heap_total(out):
    m = re.search(r"heap (\d+)", out)
    return int(m.group(1)) if m else None


def test_image_of_1_5_MB_updates_in_a_64k_heap(tmp_path):
    p = run_update(tmp_path, "image")
    assert p.returncode == 0, p.stdout + p.stderr
    assert _heap_total(p.stdout) <= HEAP_BYTES
    m = re.search(r"OK bytes (\d+)", p.stdout)
    assert m and int(m.group(1)) > IMAGE_SIZE
    data = (tmp_path / "part.bin").read_bytes()
    assert data[:IMAGE_SIZE] == (tmp_path / "fw.bin").read_bytes()
    assert set(data[IMAGE_SIZE:]) <= {0xFF}


def test_app_of_300_files_updates_in_a_64k_heap(tmp_path):
    p = run_update(tmp_path, "app")
    assert p.returncode == 0, p.stdout + p.stderr
    assert _heap_total(p.stdout) <= HEAP_BYTES
    assert "verify None" in p.stdout, p.stdout  # every file hashed against the signed index
    assert len(release.read_index(tmp_path / "srv" / "rel")) == APP_FILES
    m = re.search(r"OK bytes (\d+) requests (\d+)", p.stdout)
    assert int(m.group(2)) >= APP_FILES  # nothing in slot a: every file fetched


def test_the_same_update_fails_in_a_heap_too_small_for_it(tmp_path):
    # the harness really runs in the heap it is given: 52K, 12K short of the bound, is not enough
    p = run_update(tmp_path, "app", heap="52K", n_files=80)
    assert p.returncode != 0
    assert "MemoryError" in p.stderr + p.stdout
