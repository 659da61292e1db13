"""Bench tools end to end on a running sim board, through real mpremote (its transport and CLI).

One board for the file (booted from an `upile fsimage` image); the tests run in file order.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tempfile
from pathlib import Path

import pytest

from upile.sim.board import SimBoard

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
FLASH = 2 * 1024 * 1024
from upile.factory import app_version  # noqa: E402

VERSION = app_version()


def upile(*args, env=None, timeout=120):
    e = dict(os.environ, UPILE_REPL_TIMEOUT="5")
    e.update(env or {})
    return subprocess.run([str(BIN / "upile"), *map(str, args)], capture_output=True, text=True, env=e,
                          timeout=timeout)


def source_copy(dst):
    """A snapshot of the source tree: the image and the deploys build from it, never from files
    others may be changing (or building) in the work tree meanwhile."""
    shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(".venv", ".git", "build", ".sim", "__pycache__",
                                                             "tests", "bench", "docs", "*.bin"))
    return dst


@pytest.fixture(scope="module")
def board():
    work = Path(tempfile.mkdtemp(prefix="upile-bench-"))
    src = source_copy(work / "src")
    keys = work / "keys"
    assert upile("keygen", "--out", keys).returncode == 0
    cfg = work / "pile.json"
    cfg.write_text(json.dumps({"pile": {"id": "PILE-0042", "ports": 12}}))
    r = upile("fsimage", "--out", work / "board" / "flash.bin", "--size", FLASH, "--arch", "x64",
              "--config", cfg, "--src", src, "--key", keys / "release.key", "--keys", keys / "keys.json", "--counter", 1)
    assert r.returncode == 0, r.stderr
    b = SimBoard(work / "board", flash_size=FLASH)
    b.power_on()
    b.wait_console(r"uPile \S+ on \w+: .* 12 ports", timeout=30)
    b.url = "socket://127.0.0.1:%d" % b.console_port
    b.work, b.src = work, src
    yield b
    b.close()
    shutil.rmtree(work, ignore_errors=True)


def wait_app_up(b, timeout=60):
    """Until the app of the board's latest boot runs (a Ctrl-C into boot.py would find
    neither its slot on sys.path nor the app): after the last soft reboot if a command
    restarted the board, else since power-on (reads through the app restart nothing)."""
    rx = re.compile(r"uPile \S+ on \w+: [^\r\n]* \d+ ports")
    deadline = time.monotonic() + timeout
    while True:
        text = b.console_text()
        i = text.rfind("soft reboot")
        if rx.search(text, i + 1 if i >= 0 else 0):
            return
        assert time.monotonic() < deadline, "the app did not start: %s" % text[-800:]
        time.sleep(0.05)


def read_device_file(b, path):
    from upile.device import Device

    with Device(b.url) as d:
        d.restart = False
        return d.json("import json, fsatomic\ntry:\n d = fsatomic.read(%r)\nexcept fsatomic.Corrupt:\n d = b'corrupt'\n"
                      "print(json.dumps(d.decode() if d is not None else None))" % path)


def test_fsimage_boots_on_the_sim_with_version_slot_and_config(board):
    mark = len(board.console_text())
    r = upile("status", "--port", board.url, "--json")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    st = json.loads(r.stdout)
    assert st["version"] == VERSION and st["via"] == "app"  # the running app answered
    assert st["running_slot"] == "a" and st["ota"]["active"] == "a" and st["ota"]["pending"] is None
    assert st["flash"]["total"] == FLASH and 0 < st["flash"]["free"] < FLASH
    assert st["heap"]["free"] > 0 and st["reset_cause"] == "power-on"
    assert "soft reboot" not in board.console_text()[mark:]  # nothing interrupted, nothing restarted


def test_status_is_one_readable_screen(board):
    r = upile("status", "--port", board.url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("uPile %s on linux" % VERSION)
    for field in ("running slot  a", "slot a        active", "heap ", "flash ", "ota state"):
        assert field in r.stdout, field


def test_plain_mpremote_interrupts_the_app_with_ctrl_c_and_runs_code(board):
    wait_app_up(board)
    mark = len(board.console_text())
    p = subprocess.run([str(BIN / "mpremote"), "connect", board.url, "resume", "exec",
                        "import sys; print('path', sys.path)"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "/slots/a" in p.stdout  # the interrupted app's own sys.path: boot.py chose slot a
    assert "KeyboardInterrupt" in board.console_text()[mark:]
    p = subprocess.run([str(BIN / "mpremote"), "connect", board.url, "exec", "print(6 * 7)"],
                       capture_output=True, text=True, timeout=60)  # with mpremote's soft reset
    assert p.returncode == 0 and p.stdout.strip() == "42", p.stdout + p.stderr


def test_provision_validates_then_writes_atomically(board):
    before = read_device_file(board, "/config/pile.json")
    bad = board.work / "bad.json"
    for content, why in [({"pile": {"ports": 40}}, "pile.ports: 40 is above 16"),
                         ({"pile": {"portz": 4}}, "unknown key pile.portz")]:
        bad.write_text(json.dumps(content))
        r = upile("provision", "--port", board.url, "--config", bad)
        assert r.returncode == 1 and r.stderr.startswith("upile: ") and why in r.stderr, r.stderr
        assert "nothing written" in r.stderr
    assert read_device_file(board, "/config/pile.json") == before
    good = board.work / "good.json"
    good.write_text(json.dumps({"pile": {"id": "PILE-0043", "ports": 16}}))
    assert "16 ports" not in board.console_text()
    r = upile("provision", "--port", board.url, "--config", good)
    assert r.returncode == 0, r.stderr
    assert json.loads(read_device_file(board, "/config/pile.json")) == {"pile": {"id": "PILE-0043", "ports": 16}}
    board.wait_console(r"16 ports", timeout=20)  # the app restarted with the new config


def test_logs_print_the_ring_oldest_first(board):
    from upile.device import Device

    with Device(board.url) as d:
        d.exec("import log, fsatomic\nfsatomic.mkdirs('/data/log')\nlog.enable_ring('/data/log', 200)\n_l = log.get('bench')\n"
               "for i in range(20):\n    _l.warn('line %d of the ring', i)\nlog.flush()")
    wait_app_up(board)
    r = upile("logs", "--port", board.url)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if "bench: line" in ln]
    nums = [int(ln.split("line ")[1].split()[0]) for ln in lines]
    assert nums and nums == sorted(nums) and nums[-1] == 19 and len(nums) < 20  # bounded ring, newest kept


def test_port_sim_finds_the_running_sim_board(board, tmp_path):
    wait_app_up(board)
    (tmp_path / "board.json").write_text(json.dumps({"console_port": board.console_port, "pid": os.getpid()}))
    r = upile("status", "--port", "sim", "--json", env={"UPILE_SIM_DIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["running_slot"] == "a"


def test_deploy_that_breaks_the_app_rolls_back_then_only_changed_files_are_sent(board, tmp_path):
    wait_app_up(board)
    src = board.src
    app = src / "firmware" / "app.py"
    good = app.read_text()
    app.write_text(good.replace("def main():\n", "def main():\n    raise RuntimeError('broken on purpose')\n"))
    r = upile("deploy", "--port", board.url, "--src", src, "--wait", 60, timeout=180)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "changed firmware/app.mpy" in r.stdout and "1 of " in r.stdout
    assert "rolled back to slot a" in r.stderr and "broken on purpose" in r.stderr
    st = json.loads(upile("status", "--port", board.url, "--json").stdout)
    assert st["running_slot"] == "a" and st["ota"]["active"] == "a" and st["ota"]["pending"] is None
    assert "broken on purpose" in st["ota"]["last_failure"]

    # a short health time (config ota.health_s, default 60 s) so the trials below confirm soon
    short = board.work / "short-health.json"
    short.write_text(json.dumps({"pile": {"id": "PILE-0043", "ports": 16}, "ota": {"health_s": 3}}))
    assert upile("provision", "--port", board.url, "--config", short).returncode == 0

    app.write_text(good)
    (src / "firmware" / "version.py").write_text('VERSION = "9.9.9-bench"\n')
    r = upile("deploy", "--port", board.url, "--src", src, "--wait", 0, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    # app.mpy comes from slot a (slot b holds the broken one), version.mpy is the only change
    assert "changed firmware/version.mpy" in r.stdout and "1 of " in r.stdout
    assert "firmware/app.mpy" not in r.stdout
    board.wait_console(r"uPile 9\.9\.9-bench on", timeout=30)  # the trial boot runs the new app


def test_good_deploy_is_confirmed_healthy_and_deploy_exits_0_saying_so(board):
    # the previous test's trial (slot b, not watched) confirms itself after ota.health_s
    board.wait_console(r"OTA Confirmed v=9\.9\.9-bench\+bench slot=b", timeout=60)
    (board.src / "firmware" / "version.py").write_text('VERSION = "9.9.10-bench"\n')
    r = upile("deploy", "--port", board.url, "--src", board.src, "--wait", 60, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "slot a confirmed healthy by the app: 9.9.10-bench+bench is running" in r.stdout
    assert "| " in r.stdout and "OTA Confirmed v=9.9.10-bench+bench slot=a" in r.stdout  # the line it relied on
    st = json.loads(upile("status", "--port", board.url, "--json").stdout)
    assert st["version"] == "9.9.10-bench" and st["running_slot"] == "a"
    assert st["ota"]["active"] == "a" and st["ota"]["pending"] is None
    assert st["ota"]["slots"]["a"]["version"] == "9.9.10-bench+bench"
