"""A config never bricks a pile, on the sim board running the real app from flash.

1. A bad /config/pile.json written straight onto the flash (no `upile provision`: a hand
   edit, an old tool) is refused at boot: the pile runs with the last good copy, says why on
   the console, in the persistent log (`upile logs`) and in `upile status`, and keeps running
   (one boot, no reset). Before the validator this file made the OTA constructor raise on
   every boot: a reset loop.
2. A config no rule refuses that still stops the app from starting (an app whose start-up
   raises on one pile id stands for a rule nobody has written yet) gets a bounded number of
   starts, then is refused the same way: a handful of resets, never a loop.
"""
import json
import os
import subprocess
import sys

from upile import paths
from upile.factory import framed
from upile.sim import flashimg
from upile.sim.board import SimBoard

BIN = os.path.join(os.path.dirname(sys.executable), "upile")
GOOD = {"pile": {"id": "PILE-GOOD", "ports": 4}, "ota": {"health_s": 1}}
BAD = {"pile": {"id": "PILE-BAD", "ports": 6}, "ota": {"window": "bad", "health_s": 1}}
CRASH = {"pile": {"id": "PILE-CRASH", "ports": 5}, "ota": {"health_s": 1}}
T = 60  # generous: the sim chip compiles the app from source and shares the host


def upile(*args):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, UPILE_REPL_TIMEOUT="8"))


def starts(board, since):
    """Reset causes of the chip's starts after event time `since`."""
    return [d for t, kind, d in board.events if kind == "reset" and t >= since]


def crashing_app():
    src = (paths.ROOT / "firmware" / "app.py").read_text()
    hook = "    cfgguard.started()"
    assert src.count(hook) == 1
    return src.replace(hook, '    if cfg["pile"]["id"] == "PILE-CRASH":  # a start-up that raises on a valid value\n'
                             '        raise RuntimeError("crash on purpose")\n' + hook)


def test_a_bad_or_crashing_config_never_bricks_the_pile(tmp_path):
    with SimBoard(tmp_path / "b") as b:
        files = flashimg.app_files()
        files["/config/pile.json"] = framed(json.dumps(GOOD))
        b.install_files(files)
        b.power_on()
        b.wait_console(r"uPile \S+ on \w+: .* 4 ports", timeout=T)
        b.wait_console(r"config \d+ bytes kept as the last good copy /config/pile.good.json", timeout=T)

        # 1. a bad file straight onto the flash, plain JSON as a hand edit leaves it
        b.power_cut()
        b.install_files({"/config/pile.json": json.dumps(BAD).encode()})
        t_on = b.now()
        b.power_on()
        b.wait_console(r"CONFIG REJECTED ota\.window: 'bad': expected HH:MM-HH:MM: running with the last good "
                       r"copy /config/pile\.good\.json", timeout=T)
        b.wait_console(r"uPile \S+ on \w+: .* 4 ports", timeout=T)  # the last good copy: not 6, not the default 10
        # ota.health_s later the same boot is still running, and says it runs on the fallback
        b.wait_console(r"the app runs healthy with the last_good config; the rejected file stays unused: "
                       r"ota\.window: 'bad'", timeout=T)
        assert starts(b, t_on) == ["PWRON"]  # one boot: no reset, no loop
        assert b.console_text().count("uPile ") == 1

        r = upile("logs", "--port", "socket://127.0.0.1:%d" % b.console_port)
        assert r.returncode == 0, r.stderr
        assert "CONFIG REJECTED ota.window: 'bad': expected HH:MM-HH:MM" in r.stdout  # the persistent ring
        r = upile("status", "--port", "socket://127.0.0.1:%d" % b.console_port, "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["live"]["config"] == {
            "ok": False, "using": "last_good", "error": "ota.window: 'bad': expected HH:MM-HH:MM"}

        # 2. a config that validates, with an app whose start-up raises on it
        b.power_cut()
        b.install_files({"/firmware/app.py": crashing_app().encode(), "/config/pile.json": framed(json.dumps(CRASH))})
        t_on = b.now()
        b.power_on()
        b.wait_console(r"CONFIG REJECTED /config/pile\.json: the app did not start with it in 3 boots "
                       r"\(last failure: not recorded\): running with the last good copy", timeout=4 * T)
        b.wait_console(r"CONFIG REJECTED (.|\n)*uPile \S+ on \w+: .* 4 ports", timeout=T)
        b.wait_console(r"the app runs healthy with the last_good config(.|\n)*did not start with it", timeout=T)
        # four failed starts, each ending in main.py's machine.reset() (the harness's record of
        # resets, not the console: the tail of what a chip prints just before it resets may be
        # lost, as on a real UART); the power-on start is not counted (a power cut says nothing
        # about the config), the next three are, and the fifth start refuses the config
        assert starts(b, t_on) == ["PWRON", "HARD", "HARD", "HARD", "HARD"], starts(b, t_on)
