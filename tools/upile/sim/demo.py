"""`make sim` / `upile sim demo`: boot the firmware on a fresh sim board and show it.

A minimal demo (the OTA engineer replaces it with the full story): fresh flash, the source
tree installed, power on, print what the firmware says, its version and the filesystem.
"""
import tempfile
import time

from upile.sim import flashimg
from upile.sim.board import SimBoard


def run(args=None):
    with tempfile.TemporaryDirectory(prefix="upile-sim-") as tmp:
        with SimBoard(tmp) as b:
            b.install_files(flashimg.app_files())
            t0 = time.monotonic()
            b.power_on()
            m = b.wait_console(r"uPile [^\r\n]*", timeout=20)
            print("sim board console on 127.0.0.1:%d" % b.console_port)
            print("booted in %.0f ms: %s" % ((time.monotonic() - t0) * 1000, m.group(0)))
            out = b.exec("import machine, os\n"
                         "from firmware.version import VERSION\n"
                         "st = os.statvfs('/')\n"
                         "print('version', VERSION, 'reset cause', machine.reset_cause())\n"
                         "print('fs /:', sorted(os.listdir('/')), st[0] * st[3] // 1024, 'KiB free')\n")
            print(out.strip())
    return 0
