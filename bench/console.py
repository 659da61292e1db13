"""Console channel figures: the heap the app's reads take (`logs` streaming a full log ring,
`status json` in pieces; micropython, 96K heap), and on the sim board the time of `upile
status --json` and `upile logs` through the running app against the raw-REPL fallback
(process start included), and of one command round trip on the channel. Sim figures,
never board figures (a board's UART at 115200 baud adds ~87 us per byte)."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))
from mpy import device_path, micropython_bin  # noqa: E402
from upile.sim import flashimg  # noqa: E402
from upile.sim.board import SimBoard  # noqa: E402

UPILE = str(Path(sys.executable).parent / "upile")
N = 5
CONFIG = {"pile": {"ports": 2}, "charging": {"board": "esp32-2p"}, "modem": {"enabled": False},
          "net": {"order": "wifi"}}


def ms(xs):
    return "median %.0f ms (%s)" % (statistics.median(xs) * 1000, ", ".join("%.0f" % (x * 1000) for x in xs))


def timed(*args):
    t0 = time.monotonic()
    r = subprocess.run([UPILE, *args], capture_output=True, text=True, timeout=120)
    if r.returncode:
        raise SystemExit("upile %s failed: %s" % (" ".join(args), r.stderr))
    return time.monotonic() - t0, r


def device():
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MICROPYPATH=device_path(ROOT / "bench"), UPILE_TMP=tmp)
        p = subprocess.run([micropython_bin(), "-X", "heapsize=96K", str(ROOT / "bench" / "_console_device.py")],
                           cwd=tmp, env=env, capture_output=True, text=True, timeout=300)
        for line in p.stdout.splitlines():
            if line.startswith("@@ "):
                print(line[3:])
        if p.returncode:
            sys.stderr.write(p.stderr)
        return p.returncode


def sim():
    with tempfile.TemporaryDirectory() as tmp, SimBoard(tmp) as b:
        files = flashimg.app_files()
        files["/config/pile.json"] = json.dumps(CONFIG).encode()
        b.install_files(files)
        b.power_on()
        b.wait_console(r"charging: 2 ports", timeout=60)
        url = "socket://127.0.0.1:%d" % b.console_port
        app_status = [timed("status", "--json", "--port", url)[0] for _ in range(N)]
        app_logs = [timed("logs", "--port", url)[0] for _ in range(N)]
        from upile.device import Device

        with Device(url, raw=False) as d:
            ch = d.app()
            rtt = []
            for _ in range(20):
                t0 = time.monotonic()
                ch.ok("status")
                rtt.append(time.monotonic() - t0)
        b.exec("pass")  # the app stopped at the REPL: the tools fall back (and leave it there)
        repl_status, repl_logs = [], []
        for _ in range(N):
            t, r = timed("status", "--json", "--no-restart", "--port", url)
            assert json.loads(r.stdout)["via"] == "raw REPL"
            repl_status.append(t)
            repl_logs.append(timed("logs", "--no-restart", "--port", url)[0])
        print("upile status --json through the running app: %s; through the raw REPL (board at the REPL): %s"
              % (ms(app_status), ms(repl_status)))
        print("upile logs through the running app: %s; through the raw REPL: %s" % (ms(app_logs), ms(repl_logs)))
        print("one `status` round trip on the console channel (host already connected): %s"
              % ("median %.1f ms, max %.1f ms (n=%d)" % (statistics.median(rtt) * 1000, max(rtt) * 1000, len(rtt))))
    return 0


if __name__ == "__main__":
    sys.exit(device() or sim())
