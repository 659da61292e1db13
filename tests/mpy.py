"""Helpers for host tests that drive `micropython` processes."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def micropython_bin():
    here = Path(sys.executable).parent / "micropython"
    if here.exists():
        return str(here)
    found = shutil.which("micropython")
    if not found:
        raise RuntimeError("micropython not found: run `make test` so the Makefile installs it into .venv")
    return found


def device_path(*extra):
    """MICROPYPATH for device code as it is laid out on the board: /lib and the app root."""
    parts = [".frozen"] + [str(p) for p in extra] + [str(ROOT / "tests" / "device"), str(ROOT), str(ROOT / "lib")]
    return ":".join(parts)


def run_mpy(script, *args, heap="256K", cwd=None, timeout=120, env=None, check=False):
    """Run a MicroPython script file (or code given with `-c`) and return CompletedProcess."""
    e = dict(os.environ)
    e["MICROPYPATH"] = device_path()
    if env:
        e.update(env)
    cmd = [micropython_bin(), "-X", "heapsize=" + heap]
    cmd += ["-c", script[3:]] if isinstance(script, str) and script.startswith("-c ") else [str(script)]
    cmd += [str(a) for a in args]
    p = subprocess.run(cmd, cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("micropython failed (%d):\n%s\n%s" % (p.returncode, p.stdout[-4000:], p.stderr[-4000:]))
    return p
