"""`upile status` and `upile logs` read a charging pile through the app's console channel
(firmware/proto/maint/console.py) and never interrupt it: on the sim board with the meters'
peer and the service cable, a session charges while the tools run five times each; the same
session keeps charging, its relay pin never drops, the board never resets, and the answers
are right. mpremote still gets in (Ctrl-C, raw REPL) afterwards; a board at the REPL, or
firmware without the channel, is read through the raw REPL as before, and the tools say so.
"""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from simkit import board as simkit_board
from upile.factory import app_version
from upile.sim import flashimg
from upile.sim.board import SimBoard
from upile.sim.peers.meter import MeterPeer
from upile.sim.peers.service import ServicePeer

BIN = Path(sys.executable).parent
VERSION = app_version()
PINS_2P = {"relay": (25, 26), "relay_fb": (34, 35), "meter_uart": 2, "meter_tx": 17, "meter_rx": 16,
           "meter_mux": (27,), "temp_adc": (36,)}
CONFIG = {
    "pile": {"ports": 2},
    "charging": {"board": "esp32-2p"},
    "service": {"uart": 1, "baud": 115200, "tx": 4, "rx": 5},
    "modem": {"enabled": False},
    "net": {"order": "wifi"},
}


def upile(*args, env=None):
    e = dict(os.environ, UPILE_REPL_TIMEOUT="8")
    e.update(env or {})
    return subprocess.run([str(BIN / "upile"), *map(str, args)], capture_output=True, text=True, env=e, timeout=120)


def kv(line):
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


def since(b, mark, kind):
    return [d for _, k, d in b.events[mark:] if k == kind]


def ring_lines(b):
    """The persistent log as it is on the flash (chip off)."""
    f = b.read_files(["/data/log/log.1", "/data/log/log.0"])
    return b"".join(f[p] or b"" for p in ("/data/log/log.1", "/data/log/log.0")).decode().splitlines()


def test_reads_while_charging_interrupt_nothing_and_are_right(tmp_path):
    with SimBoard(tmp_path / "b") as b:
        files = flashimg.app_files()
        files["/config/pile.json"] = json.dumps(CONFIG).encode()
        b.install_files(files)
        meter, svc = MeterPeer(PINS_2P, n=2), ServicePeer()
        b.attach_uart(2, meter)
        b.attach_uart(1, svc)
        b.power_on()
        b.wait_console(r"maint: port on UART1", timeout=30)
        url = "socket://127.0.0.1:%d" % b.console_port

        # a finished session leaves a pending bill and a log line; a long one charges on port 1
        meter.command("plug 2 250 600 0.2")
        sid2 = kv(svc.ok("start 2 money 500 app-2"))["id"]
        svc.wait_event(r"^status 2 Charging", timeout=20)
        assert kv(svc.ok("stop 2"))["id"] == sid2
        meter.command("plug 1 300 2000 0.1")
        sid = kv(svc.ok("start 1 time 60 app-1"))["id"]
        svc.wait_event(r"^status 1 Charging prev=Preparing", timeout=20)
        assert b.pin(25) == 1
        mwh0 = int(kv(svc.ok("info 1"))["mwh"])
        mark, cmark = len(b.events), b.console_mark()

        outputs = []
        for i in range(5):
            r = upile("status", "--port", url, "--json")
            assert r.returncode == 0 and r.stderr == "", r.stderr
            st = json.loads(r.stdout)
            assert st["via"] == "app" and st["version"] == VERSION and st["reset_cause"] == "power-on"
            assert st["micropython"]["platform"] == "linux" and st["flash"]["total"] > 0
            live = st["live"]
            assert live["station"]["ports"] == ["Charging", "Available"] and live["station"]["version"] == VERSION
            p1 = live["ports"][0]
            assert (p1["status"], str(p1["id"]), p1["kind"], p1["amount"], p1["id_tag"]) == (
                "Charging", sid, "time", 60, "app-1")
            assert 250 <= p1["p_w"] <= 330 and live["ports"][1]["status"] == "Available"
            assert live["tasks"]["charging"]["state"] == "running" and live["tasks"]["console"]["state"] == "running"
            assert live["bills"] == {"pending": 1} and st["bills"]["pending"] == 1
            bill = st["bills"]["oldest"][0]
            assert (str(bill["id"]), bill["port"], bill["reason"], bill["cause"], bill["id_tag"]) == (
                sid2, 2, "Local", "service", "app-2")

            r = upile("status", "--port", url)
            assert r.returncode == 0 and r.stderr == "", r.stderr
            assert r.stdout.startswith("uPile %s on linux" % VERSION)
            assert '"status": "Charging"' in r.stdout and '"id": %s' % sid in r.stdout
            assert "bills         1 pending\n  id %s port 2: " % sid2 in r.stdout
            assert r.stdout.rstrip().endswith("read through  the running app (nothing interrupted)")

            r = upile("logs", "--port", url)
            assert r.returncode == 0 and r.stderr == "", r.stderr
            assert re.search(r"charging: port 2: session %s stopped Local/service, \d+ mWh" % sid2, r.stdout)
            outputs.append(r.stdout.splitlines())

        # nothing was interrupted: no reset, no power event, the relay never dropped, no
        # KeyboardInterrupt or soft reboot on the console, the same session charged on
        assert since(b, mark, "reset") == [] and since(b, mark, "power") == []
        assert [lvl for pin, lvl in since(b, mark, "pin") if pin == 25] == [] and b.pin(25) == 1
        text = b.console_text()[cmark:]
        assert "KeyboardInterrupt" not in text and "soft reboot" not in text and "Traceback" not in text
        info = kv(svc.ok("info 1"))
        assert info["status"] == "Charging" and info["id"] == sid and int(info["mwh"]) > mwh0
        assert svc.ok("status").endswith("idle=0 1=Charging 2=Available")

        # real mpremote still interrupts the app (Ctrl-C) and runs code in the raw REPL
        r = subprocess.run([str(BIN / "mpremote"), "connect", url, "resume", "exec", "print(6 * 7)"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.strip() == "42", r.stdout + r.stderr
        assert "KeyboardInterrupt" in b.console_text()[cmark:]

        # the log lines came from the flash ring, oldest first, each read giving the ring of its time
        b.power_cut()
        ring = ring_lines(b)
        for out in outputs:
            assert any(ring[i:i + len(out)] == out for i in range(len(ring))), (out[:3], ring[:3])


def test_a_board_at_the_repl_is_read_through_the_raw_repl_and_says_so_a_booting_one_is_waited_for(tmp_path):
    with SimBoard(tmp_path / "b") as b:
        files = flashimg.app_files()
        files["/config/pile.json"] = json.dumps(CONFIG).encode()
        b.install_files(files)
        b.power_on()
        b.wait_console(r"charging: 2 ports", timeout=30)
        url = "socket://127.0.0.1:%d" % b.console_port
        b.exec("print('stopped')")  # the app interrupted, the board left at the REPL
        mark, cmark = len(b.events), b.console_mark()

        r = upile("status", "--port", url, "--json", "--no-restart")
        assert r.returncode == 0, r.stderr
        assert r.stderr.startswith("upile: the app is not running on %s (the board is at the REPL); "
                                   "reading the status through the raw REPL instead" % url), r.stderr
        assert "--no-restart: the board stays at the REPL afterwards" in r.stderr
        st = json.loads(r.stdout)
        assert st["via"] == "raw REPL" and st["version"] == VERSION
        assert st["live"]["station"]["ports"] == ["Available", "Available"]  # the stopped app's objects
        time.sleep(0.3)  # nothing may come; a positive check follows below
        assert "soft reboot" not in b.console_text()[cmark:] and since(b, mark, "reset") == []

        r = upile("logs", "--port", url)  # still at the REPL: falls back again, then restarts the app
        assert r.returncode == 0, r.stderr
        assert r.stderr.startswith("upile: the app is not running on %s (the board is at the REPL); "
                                   "reading the log through the raw REPL instead" % url), r.stderr
        assert "the board is soft-reset afterwards, so the app starts again" in r.stderr
        b.wait_console(r"soft reboot(.|\n)*charging: 2 ports", timeout=30, since=cmark)
        assert since(b, mark, "reset") == ["SOFT"]

        r = upile("status", "--port", url)  # the app runs again: through it, nothing said
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert "read through  the running app (nothing interrupted)" in r.stdout

        # a read while the board restarts (a trial boot after a deploy): the line waits in the
        # console's buffer, the new app answers it once started, nothing else resets it
        mark = len(b.events)
        b.reset()
        r = upile("status", "--port", url, "--json")
        assert r.returncode == 0 and r.stderr == "", r.stderr
        st = json.loads(r.stdout)
        assert st["via"] == "app" and st["reset_cause"] == "hard"
        assert st["live"]["tasks"]["console"]["state"] == "running"
        assert since(b, mark, "reset") == ["HARD"]


def test_firmware_without_the_channel_times_out_then_uses_the_raw_repl():
    # a main.py that runs and never answers on the console: an older firmware
    with simkit_board() as b:
        url = "socket://127.0.0.1:%d" % b.console_port
        mark = b.console_mark()
        r = upile("status", "--port", url, "--json", env={"UPILE_APP_TIMEOUT": "1.5"})
        assert r.returncode == 0, r.stderr
        assert r.stderr.startswith("upile: the app on %s did not answer on the console (1.5 s without a word; not "
                                   "running, or firmware without the console channel); reading the status through "
                                   "the raw REPL instead, which stops a running app (and its charging) with Ctrl-C; "
                                   "the board is soft-reset afterwards, so the app starts again" % url), r.stderr
        assert json.loads(r.stdout)["via"] == "raw REPL"
        b.wait_console(r"soft reboot(.|\n)*main.py running", timeout=20, since=mark)
        # the command line the app never read reached the REPL as a comment: no error there
        assert "SyntaxError" not in b.console_text()[mark:]
