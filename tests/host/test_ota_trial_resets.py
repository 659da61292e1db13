"""The trial rule on the sim board, with the real boot.py, main.py and app: only what means
the release on trial is unhealthy counts against it.

A v2 trial (3 trials allowed) is interrupted on purpose again and again -- raw-REPL entries
followed by a soft reset from the REPL (what `upile status` does), real mpremote (its soft
reset into the raw REPL) left alone until the console watchdog resets the pile, a reboot
command at the REPL, a power cut -- and stays a trial with no failed trial counted. Then a panic (the
chip process dies on a signal: HARD without intent) and a hang (the process stopped: the
watchdog fires) count one failed trial each. Then the health rule is met and the trial is
confirmed: v2 stays, nothing is rolled back.
"""
import json
import os
import signal
import time

from otasim import Pile
from simkit import mpremote
from upile.factory import framed
from upile.sim import otakit

# health_s far away while the test interrupts the trial; checks only once, at start-up
OTA = {"trials": 3, "trial_wdt_s": 8, "health_s": 3600, "health_timeout_s": 7200, "first_check_s": 1, "check_s": 86400, "jitter_s": 0}
CONSOLE_WDT_MS = 15000  # the watchdog once the app is stopped from the console (default 10 min)
V2 = r"uPile 2\.0\.0 on"
T = 60  # generous: the sim chip shares two cores with whole test runs


def _state(b):
    """The boot state, read through the raw REPL (this stops the app: Ctrl-C, as mpremote)."""
    return json.loads(b.exec("import thisboot, json\nprint(json.dumps(thisboot.read_state()))", timeout=T))


def _type(b, data):
    b.console.loop.call(b.console.to_chip, data)


def _soft_reset_into_app(b):
    """Ctrl-D at the friendly REPL: a soft reset, boot.py and main.py run again."""
    mark = b.console_mark()
    _type(b, b"\x04")
    b.wait_console(V2, timeout=T, since=mark)


def _trial(b, trials):
    st = _state(b)
    assert (st["active"], st["pending"], st["booted"], st["trials"]) == ("a", "b", "b", trials), st
    return st


def test_deliberate_resets_never_count_a_panic_and_a_hang_do(tmp_path):
    p = Pile(tmp_path / "pile", {"v1": ("1.0.0", 1, None, {}), "v2": ("2.0.0", 2, None, {})}, ota=OTA)
    b = p.board
    try:
        st = json.loads(b.read_files(["/ota/state.json"])["/ota/state.json"][12:])
        st["console_wdt_ms"] = CONSOLE_WDT_MS
        b.install_files({"/ota/state.json": framed(json.dumps(st))})  # factory settings
        p.publish("v2")
        b.power_on()
        pos = p.wait(r"OTA Installing app v=2\.0\.0", T)
        p.wait(V2, T, pos)
        assert _trial(b, 0)["wdt_ms"] == 8000

        for _ in range(3):  # raw-REPL entries, each followed by a soft reset back into the app
            _soft_reset_into_app(b)
            _trial(b, 0)

        # real mpremote (Ctrl-C, soft reset into the raw REPL, exec), then nobody restarts the
        # app: the console watchdog resets the pile back into it, with the intent "console"
        _soft_reset_into_app(b)
        t, mark = time.monotonic(), b.console_mark()
        r = mpremote(b.console_port, "exec", "print('engineer was here')", timeout=T)
        assert r.returncode == 0 and "engineer was here" in r.stdout, r.stdout + r.stderr
        assert b.wait_event("wdt", lambda ms: ms == CONSOLE_WDT_MS, timeout=T, since=t)
        fire = b.wait_event("wdt_fire", timeout=T + CONSOLE_WDT_MS / 1000, since=t)
        assert fire[2][0] == CONSOLE_WDT_MS / 1000
        b.wait_event("reset", lambda c: c == "WDT", timeout=T, since=t)
        b.wait_console(V2, timeout=T, since=mark)
        _trial(b, 0)

        # a reboot command at the REPL: firmware/board/system.reset records why first
        _soft_reset_into_app(b)
        t, mark = time.monotonic(), b.console_mark()
        _type(b, b"\x03")
        b.wait_console(r">>> $", timeout=T, since=mark)
        _type(b, b"from firmware.board import system; system.reset('reboot command')\r")
        b.wait_event("reset", lambda c: c == "HARD", timeout=T, since=t)
        b.wait_console(V2, timeout=T, since=mark)
        _trial(b, 0)

        # a power cut (PWRON; it also empties RTC memory)
        _soft_reset_into_app(b)
        b.power_cut()
        b.power_on()  # the console log starts afresh
        b.wait_console(V2, timeout=T)
        _trial(b, 0)

        # a panic while the app runs: HARD_RESET without an intent
        _soft_reset_into_app(b)
        t, mark = time.monotonic(), b.console_mark()
        os.kill(b.chip.pid, signal.SIGSEGV)
        b.wait_event("panic", timeout=T, since=t)
        b.wait_event("reset", lambda c: c == "HARD", timeout=T, since=t)
        b.wait_console(V2, timeout=T, since=mark)
        assert "panic" in _trial(b, 1)["last_failure"]

        # a hang: the chip stops, nothing feeds the watchdog (8 s, the state's wdt_ms)
        _soft_reset_into_app(b)
        t, mark = time.monotonic(), b.console_mark()
        os.kill(b.chip.pid, signal.SIGSTOP)
        fire = b.wait_event("wdt_fire", timeout=T, since=t)
        assert fire[2][0] == 8.0
        b.wait_event("reset", lambda c: c == "WDT", timeout=T, since=t)
        b.wait_console(V2, timeout=T, since=mark)
        assert "watchdog" in _trial(b, 2)["last_failure"]

        # the health rule met (health_s now 2): confirmed, two failed trials of three
        cfg = otakit.sim_config(p.ch.url(), dict(OTA, health_s=2))
        b.exec("import fsatomic\nfsatomic.write_json('/config/pile.json', %r)" % (cfg,), timeout=T)
        mark = b.console_mark()
        _soft_reset_into_app(b)
        b.wait_console(r"OTA Confirmed v=2\.0\.0 slot=b", timeout=T, since=mark)
        st = _state(b)
        assert (st["active"], st["pending"], st["counter"], st["rolled_back"]) == ("b", None, 2, []), st
        assert "RolledBack" not in p.text()
    finally:
        p.close()
