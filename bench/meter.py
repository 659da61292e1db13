"""Metering-IC parser benchmark: prints parse time per frame and per byte, and the heap
allocated per frame, for each chip on loaded and no-load frames (runs micropython)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from mpy import device_path, micropython_bin  # noqa: E402


def main():
    env = dict(os.environ, MICROPYPATH=device_path(ROOT / "bench", ROOT / "tools" / "upile" / "sim"))
    p = subprocess.run([micropython_bin(), "-X", "heapsize=64K", str(ROOT / "bench" / "_meter_device.py")],
                       env=env, capture_output=True, text=True, timeout=300)
    sys.stdout.write(p.stdout)
    if p.returncode:
        sys.stderr.write(p.stderr)
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
