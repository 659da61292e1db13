"""Bad releases are rolled back; unacceptable manifests are rejected with a reason.

Sim piles under micropython, real HTTP on loopback, several piles in parallel.
"""
import concurrent.futures as cf
from pathlib import Path
import json
import re
import time

from otasim import Pile

RAISES = 'raise RuntimeError("broken at import")\n'
HANGS = "while True:\n    pass\n"
DELETES = ('import os, thisboot\n'
           'os.remove("/slots/%s/firmware/config.mpy" % thisboot.selected)\n'
           'raise ImportError("config gone")\n')
FAST = {"trials": 2, "trial_wdt_s": 2, "health_s": 3}
# a release whose maintenance protocol task crashes as soon as it starts: the supervisor
# restarts it, gives up after supervisor.max_crashes, and that counts against the trial
# (the real package, its server() replaced by one whose serve() raises)
PROTO_CRASH = (Path(__file__).resolve().parents[2] / "firmware/proto/maint/__init__.py").read_text() + (
    '\n\ndef server(station, bus):\n'
    '    class Broken:\n'
    '        async def serve(self, stream):\n'
    '            raise RuntimeError("v9 maintenance protocol fails at start")\n'
    '    return Broken()\n')
WIRED = {"service": {"uart": 1, "tx": 18, "rx": 39}, "modem": {"enabled": False}, "net": {"order": "wifi"},
         "supervisor": {"backoff_ms": 100, "backoff_max_ms": 400, "max_crashes": 3}}


def _bad(name, source, work, module="firmware/version.py", extra=None):
    p = Pile(work / name, {"v1": ("1.0.0", 1, None, {}), "bad": ("9.0.0", 9, {module: source}, {})},
             ota=FAST, extra=extra)
    try:
        p.board.power_on()
        pos = p.wait(r"uPile 1\.0\.0 on")
        p.publish("bad")
        pos = p.wait(r"OTA Installing app v=9\.0\.0", 30, pos)
        end = p.wait(r"OTA RolledBack (.*) v=9\.0\.0", 60, pos)
        t_rb = time.monotonic()
        line = re.findall(r"OTA RolledBack (.*) v=9\.0\.0", p.text())[-1]
        assert p.running_version() == "1.0.0"
        time.sleep(6)  # the bad release stays published: it is not installed again
        assert "OTA Installing" not in p.text()[end:]
        # the old release runs under the watchdog main.py arms on every boot (the trial's
        # 2 s), and feeds it: no watchdog reset after the rollback
        assert p.board.wdt.timeout == 2.0
        assert not [e for e in p.board.events if e[1] == "wdt_fire" and e[0] > t_rb]
        return name, line
    finally:
        p.close()


def _reject(work):
    now = int(time.time())
    rels = {
        "v2": ("2.0.0", 2, None, {}),
        "old": ("1.5.0", 1, None, {}),
        "other": ("3.0.0", 3, None, {"product": "another-pile"}),
        "expired": ("4.0.0", 4, None, {"created": now - 10 * 86400, "expires": str(now - 86400)}),
    }
    p = Pile(work / "reject", rels, ota={"check_s": 5, "jitter_s": 0})
    try:
        p.board.power_on()
        p.wait(r"uPile 2\.0\.0 on")
        pos = 0
        reasons = {}
        for name in ("old", "other", "expired"):
            p.publish(name)
            pos = p.wait(r"OTA DownloadFailed (downgrade|wrong_product|expired)", 30, pos)
            reasons[name] = re.findall(r"OTA DownloadFailed (\S+)", p.text())[-1]
        text = p.text()
        assert "OTA Downloading" not in text and "OTA Installing" not in text
        p.board.power_cut()
        files = p.board.read_files(["/ota/state.json", "/ota/progress.json"])
        st = json.loads(files["/ota/state.json"][12:])
        assert files["/ota/progress.json"] is None  # nothing was downloaded anywhere
        assert st["active"] == "a" and st["pending"] is None and st["counter"] == 2
        p.board.power_on()
        p.wait(r"uPile 2\.0\.0 on")  # the running slot still verifies
        return reasons
    finally:
        p.close()


def test_bad_releases_roll_back_and_rejected_manifests_change_nothing(tmp_path):
    with cf.ThreadPoolExecutor(4) as ex:
        bad = [ex.submit(_bad, n, s, tmp_path) for n, s in (("raises", RAISES), ("hangs", HANGS),
                                                            ("deletes", DELETES))]
        bad.append(ex.submit(_bad, "proto_crash", PROTO_CRASH, tmp_path, "firmware/proto/maint/__init__.py", WIRED))
        rej = ex.submit(_reject, tmp_path)
        results = dict(f.result() for f in bad)
        reasons = rej.result()
    assert "broken at import" in results["raises"]
    assert "reset during trial" in results["hangs"]  # the watchdog ended the hang
    assert "slot check failed" in results["deletes"] or "config gone" in results["deletes"]
    # the supervisor gave up on the crashing protocol task: that is what failed the trials
    assert "3 crashes" in results["proto_crash"] and "maint" in results["proto_crash"], results["proto_crash"]
    assert reasons == {"old": "downgrade", "other": "wrong_product", "expired": "expired"}
