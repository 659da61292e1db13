"""Sim board figures: power-on to REPL and to main.py, console round trip (real mpremote
`exec pass`, and the harness's own raw REPL), UART throughput and jitter at 115200 baud,
pin-change latency from chip to harness log. Sim figures, never board figures."""
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from upile.sim.board import SimBoard  # noqa: E402
from upile.sim.peers.loopback import LoopbackPeer  # noqa: E402

MPREMOTE = str(Path(sys.executable).parent / "mpremote")
MAIN = b"print('main.py running')\n"
N = 10


class Burst(LoopbackPeer):
    def __init__(self, n):
        super().__init__()
        self.n = n

    def on_rx(self, data):
        super().on_rx(data)
        if b"G" in data:
            self.send(bytes(i % 256 for i in range(self.n)))


UART_CODE = """
import machine, time
u = machine.UART(1, 115200, tx=17, rx=16, rxbuf=4096, timeout=2000)
buf = bytearray(256)
gaps = []
u.write(b'G')
got = u.readinto(buf, 1)
t0 = last = time.ticks_us()
while got < %d:
    k = u.readinto(buf, min(256, %d - got))
    if not k:
        break
    now = time.ticks_us()
    gaps.append(time.ticks_diff(now, last))
    last = now
    got += k
gaps.sort()
print(got, time.ticks_diff(last, t0), gaps[len(gaps) // 2], max(gaps), len(gaps))
"""


def ms(xs):
    return "median %.1f ms, max %.1f ms (n=%d)" % (statistics.median(xs) * 1000, max(xs) * 1000, len(xs))


def main():
    with tempfile.TemporaryDirectory() as tmp, SimBoard(tmp) as b:
        b.install_files({"/boot.py": b"", "/main.py": MAIN})
        to_repl, to_main = [], []
        for _ in range(N):
            t0 = time.monotonic()
            b.power_on()
            b.wait_console("main.py running")
            to_main.append(time.monotonic() - t0)
            b.wait_console(">>> ")
            to_repl.append(time.monotonic() - t0)
            b.power_cut()
        print("power-on to main.py running: " + ms(to_main))
        print("power-on to REPL prompt (main.py ended): " + ms(to_repl))

        b.power_on()
        b.wait_console(">>> ")
        url = "socket://127.0.0.1:%d" % b.console_port
        rt, rt_resume, rt_raw = [], [], []
        for _ in range(N):
            t0 = time.monotonic()
            subprocess.run([MPREMOTE, "connect", url, "exec", "pass"], check=True, capture_output=True, timeout=30)
            rt.append(time.monotonic() - t0)
            t0 = time.monotonic()
            subprocess.run([MPREMOTE, "connect", url, "resume", "exec", "pass"], check=True, capture_output=True,
                           timeout=30)
            rt_resume.append(time.monotonic() - t0)
            t0 = time.monotonic()
            b.exec("pass")
            rt_raw.append(time.monotonic() - t0)
        print("mpremote exec pass (process, soft reset included): " + ms(rt))
        print("mpremote resume exec pass (process, no soft reset): " + ms(rt_resume))
        print("harness raw-REPL exec pass: " + ms(rt_raw))

        n = 46080  # 4 s at 115200 baud
        peer = Burst(n)
        b.attach_uart(1, peer)
        got, us, med_gap, max_gap, reads = map(int, b.exec(UART_CODE % (n, n), timeout=30).split())
        rate = (got - 1) / (us / 1e6)
        print("UART 115200 baud: %d bytes in %.2f s = %.0f B/s (ideal 11520 B/s, %+.1f %%), %d reads, "
              "gap between 256-byte reads median %.1f ms (ideal 22.2), max %.1f ms" % (
                  got, us / 1e6, rate, (rate / 11520 - 1) * 100, reads, med_gap / 1000, max_gap / 1000))

        lat = []
        b.exec("import machine, time\np = machine.Pin(25, machine.Pin.OUT)")
        for i in range(50):
            level = (i + 1) % 2
            since = time.monotonic()
            out = b.exec("t = time.time_ns()\np.value(%d)\nprint(t)" % level)
            t_chip = int(out) / 1e9
            ev = b.wait_event("pin", lambda d, lv=level: d == (25, lv), since=since)
            offset = time.time() - time.monotonic()
            lat.append(ev[0] + offset - t_chip)
        print("pin change chip -> harness event log: " + ms(lat))


if __name__ == "__main__":
    main()
