"""Charging benchmark: prints over-power latency, control-loop CPU per second with 10
active ports, heap with 10 sessions, journal bytes per session-hour (runs micropython)."""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from mpy import device_path, micropython_bin  # noqa: E402


def main():
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MICROPYPATH=device_path(), UPILE_TMP=tmp)
        env["MICROPYPATH"] = device_path(ROOT / "bench")
        # compaction off for the wear figure: it measures what checkpoints append
        p = subprocess.run([micropython_bin(), "-X", "heapsize=384K", str(ROOT / "bench" / "_charging_device.py")],
                           cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
        sys.stdout.write("\n".join(l for l in p.stdout.splitlines() if " I charging" not in l and "stack:" not in l
                                   and not l.startswith(("GC:", "No. of", "mem:", " max ", "qstr"))) + "\n")
        if p.returncode:
            sys.stderr.write(p.stderr)
        return p.returncode


if __name__ == "__main__":
    sys.exit(main())
