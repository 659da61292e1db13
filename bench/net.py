"""Connectivity figures: Wi-Fi loss -> backend reachable over cellular (sim board, default
net settings), AT commands/s through the engine, heap of the link manager + modem driver,
CPU time per minute while connected and idle. Prints labelled figures.
Usage: .venv/bin/python bench/net.py
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))
from mpy import micropython_bin, device_path  # noqa: E402

AT_RATE = r'''
import asyncio, time
from firmware.net.at import At
from netfakes import FakeStream

async def main():
    s = FakeStream()
    s.on_tx = lambda d: s.feed(b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
    at = At(s)
    at.start()
    n = 3000
    t0 = time.ticks_ms()
    for i in range(n):
        await at.cmd("AT+CSQ")
    ms = time.ticks_diff(time.ticks_ms(), t0)
    print("AT_RATE", n * 1000 // ms)
    at.stop()
asyncio.run(main())
'''

HEAP = r'''
import gc, asyncio
gc.collect(); m0 = gc.mem_alloc()
from firmware import config
from netfakes import FakeWlan, ModemRig, World
from firmware.net import clock as REAL  # wall-clock figures: the fakes run on real time here
gc.collect(); m1 = gc.mem_alloc()
from firmware.net.link import LinkManager
from firmware.net.modem import Modem
from firmware.net.wifi import Wifi
gc.collect(); m2 = gc.mem_alloc()

async def main():
    cfg = config.defaults()
    cfg["wifi"]["networks"] = [{"ssid": "home", "key": "secret-2"}]
    cfg["modem"]["apn"] = "cmnet"
    wlan = FakeWlan({}, clock=REAL)
    rig = ModemRig(clock=REAL)
    rig.start()
    world = World(clock=REAL)
    gc.collect(); m3 = gc.mem_alloc()
    wifi = Wifi(wlan, cfg["wifi"])
    cell = Modem(rig, cfg["modem"])
    world.links = {"wifi": wifi, "cellular": cell}
    lm = LinkManager([wifi, cell], cfg["net"], cfg["backend"], probe=world.probe)
    lm.start()
    await lm.wait_up()
    await asyncio.sleep_ms(200)
    gc.collect(); m4 = gc.mem_alloc()
    print("HEAP_CODE", m2 - m1)
    print("HEAP_OBJ", m4 - m3)
    await lm.stop(); rig.stop()
asyncio.run(main())
'''

IDLE = r'''
import asyncio, sys, time
from firmware import config
from firmware.net.link import LinkManager
from firmware.net.modem import Modem
from firmware.net.wifi import Wifi
from netfakes import FakeWlan, ModemRig, World
from firmware.net import clock as REAL  # CPU per real minute: the fakes run on real time here

KIND = sys.argv[1]
SECS = int(sys.argv[2])

async def main():
    cfg = config.defaults()
    cfg["net"]["order"] = KIND
    cfg["wifi"]["networks"] = [{"ssid": "home", "key": "secret-2"}]
    wlan = FakeWlan({"home": {"key": "secret-2", "rssi": -60, "up": True}}, clock=REAL)
    rig = ModemRig(clock=REAL)
    rig.start()
    cell = Modem(rig, cfg["modem"])
    wifi = Wifi(wlan, cfg["wifi"])
    world = World(clock=REAL)
    world.links = {"wifi": wifi, "cellular": cell}
    lm = LinkManager([wifi, cell], cfg["net"], cfg["backend"], probe=world.probe)
    lm.start()
    await lm.wait_up()
    rig.stop()  # the emulator's 5 ms pump is test machinery, not firmware cost
    print("READY", flush=True) if hasattr(print, "flush") else print("READY")
    sys.stdout.flush() if hasattr(sys.stdout, "flush") else None
    await asyncio.sleep(SECS)
    print("DONE", lm.kind)
asyncio.run(main())
'''


def mpy(code, *args, heap="256K"):
    env = dict(os.environ, MICROPYPATH=device_path())
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "b.py"
        p.write_text(code)
        return subprocess.run([micropython_bin(), "-X", "heapsize=" + heap, str(p)] + list(args), cwd=tmp,
                              env=env, capture_output=True, text=True, timeout=300)


def figure(out, key):
    for line in out.splitlines():
        if line.startswith(key + " "):
            return int(line.split()[1])
    raise SystemExit("bench/net: no %s in output:\n%s" % (key, out[-2000:]))


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])  # utime + stime


def idle_cpu(kind, secs=30):
    env = dict(os.environ, MICROPYPATH=device_path())
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "i.py"
        p.write_text(IDLE)
        proc = subprocess.Popen([micropython_bin(), "-X", "heapsize=256K", str(p), kind, str(secs)], cwd=tmp,
                                env=env, stdout=subprocess.PIPE, text=True)
        for line in proc.stdout:
            if line.startswith("READY"):
                break
        c0 = cpu_ticks(proc.pid)
        t0 = time.monotonic()
        time.sleep(secs - 1)
        c1 = cpu_ticks(proc.pid)
        dt = time.monotonic() - t0
        proc.communicate(timeout=30)
    hz = os.sysconf("SC_CLK_TCK")
    return (c1 - c0) * 1000.0 / hz * 60.0 / dt


def failover_time(runs=3):
    from upile.sim import flashimg
    from upile.sim.board import SimBoard
    from upile.sim.peers.modem import ModemPeer

    from upile.sim.backend import probe_backend

    srv, accepted = probe_backend()
    cfg = {"wifi": {"networks": [{"ssid": "depot", "key": "secret-123"}]},
           "backend": {"host": "127.0.0.1", "port": srv.getsockname()[1]}, "modem": {"apn": "cmnet"},
           "net": {"ntp_host": ""}}
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        with SimBoard(tmp) as b:
            files = flashimg.app_files()
            files["/config/pile.json"] = json.dumps(cfg).encode()
            b.install_files(files)
            b.attach_uart(1, ModemPeer())
            b.net.add_ap("depot", "secret-123", rssi=-58)
            b.power_on()
            b.wait_console(r"link: up on wifi", timeout=60)
            for i in range(runs):
                time.sleep(2)
                mark = b.console_mark()
                t0 = time.monotonic()
                b.net.drop("depot")
                b.wait_console(r"link: up on cellular", timeout=120, since=mark)
                # the probe's accept() may be recorded just after the console line
                deadline = time.monotonic() + 5
                while not any(t > t0 for t in accepted) and time.monotonic() < deadline:
                    time.sleep(0.01)
                out.append(min(t for t in accepted if t > t0) - t0)
                mark = b.console_mark()
                b.net.restore("depot")
                b.wait_console(r"link: up on wifi", timeout=300, since=mark)
    srv.close()
    return out


def main():
    print("AT commands/s through the engine (in-process fake UART, host): %d" % figure(mpy(AT_RATE).stdout, "AT_RATE"))
    out = mpy(HEAP).stdout
    print("heap, link manager + wifi + modem driver + AT engine objects (connected): %d bytes" % figure(out, "HEAP_OBJ"))
    print("heap, their code (modules imported from source): %d bytes" % figure(out, "HEAP_CODE"))
    for kind in ("wifi", "cellular"):
        print("CPU time per minute, connected on %s and idle (default settings): %.0f ms (host, /proc clock "
              "resolution %.0f ms per minute)" % (kind, idle_cpu(kind), 1000.0 / os.sysconf("SC_CLK_TCK") * 60 / 29))
    t = failover_time()
    print("Wi-Fi loss -> backend reachable over cellular (sim board, default settings, modem already on): "
          "%s s (median %.1f s)" % (", ".join("%.1f" % x for x in t), sorted(t)[len(t) // 2]))


if __name__ == "__main__":
    main()
