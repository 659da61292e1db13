"""Helpers for the sim board's host tests: a booted board with small boot.py/main.py."""
import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from upile.sim.board import SimBoard

MPREMOTE = str(Path(sys.executable).parent / "mpremote")

BOOT_COUNTING = b"""
import sys
if '/lib' not in sys.path:
    sys.path.append('/lib')
try:
    n = int(open('/boots').read())
except (OSError, ValueError):
    n = 0
with open('/boots', 'w') as f:
    f.write(str(n + 1))
print('boot.py run', n + 1)
"""

MAIN_FOREVER = b"""
import time
print('main.py running')
i = 0
while True:
    i += 1
    time.sleep_ms(20)
"""


@contextlib.contextmanager
def board(files=None, boot=BOOT_COUNTING, main=MAIN_FOREVER, power=True, **kw):
    with tempfile.TemporaryDirectory(prefix="upile-simtest-") as tmp:
        b = SimBoard(tmp, **kw)
        try:
            all_files = {"/boot.py": boot, "/main.py": main}
            all_files.update(files or {})
            b.install_files({k: v for k, v in all_files.items() if v is not None})
            if power:
                b.power_on()
                if main is MAIN_FOREVER:
                    b.wait_console("main.py running")
            yield b
        finally:
            b.close()


def mpremote(port, *args, timeout=30):
    return subprocess.run([MPREMOTE, "connect", "socket://127.0.0.1:%d" % port, *args], capture_output=True,
                          text=True, timeout=timeout)


def wait_until(cond, timeout=10.0, what="condition"):
    """Poll cond() until it returns something true (returned) or `timeout` s pass (error)."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise TimeoutError("%s not met within %.1f s" % (what, timeout))
        time.sleep(0.01)
