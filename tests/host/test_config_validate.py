"""The config validator under CPython and through the real tools.

- The whole table of tests/device/cfgtable.py (every key's type and range errors, every
  semantic rule; the device test runs the same table inside micropython) gives, under
  CPython, exactly the messages MicroPython gives: `upile provision` and the pile agree.
- Through the real `upile provision --port sim` against one sim board: one bad value per
  section and one per semantic rule (the first table case of each distinct key), each refused
  with the message naming the key, nothing written. The complete table (~550 cases) goes through the
  validator function itself: each `upile provision` costs a CPython start (~0.4 s), so all
  of them would take minutes. A config the host accepts but the board refuses (its firmware
  decides) is refused by the board's own cfgstore.write(); the flash is read afterwards.
- `upile fsimage --config` refuses a bad config before it builds anything.
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from upile import hostconfig
from upile.errors import UserError
from upile.factory import framed
from upile.sim import flashimg
from upile.sim.board import SimBoard

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GOOD = {"pile": {"id": "PILE-0042", "ports": 4}, "ota": {"health_s": 1}}


def _table():
    spec = importlib.util.spec_from_file_location("cfgtable", ROOT / "tests" / "device" / "cfgtable.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


T = _table()
FC = hostconfig.firmware_config()
CS = __import__("firmware.cfgstore", fromlist=["change"])  # the remote-change API, under CPython too


def refusal(partial):
    try:
        FC.validate(partial)
    except FC.ConfigError as e:
        return e
    return None


def test_cpython_refuses_the_whole_table_with_the_device_messages():
    bad = []
    n = 0
    for partial, msg in list(T.schema_cases(FC)) + T.RULES + T.WHOLE:
        n += 1
        e = refusal(partial)
        got = e.args[0] if e else "accepted"
        if got != msg:
            bad.append("%r\n   got  %s\n   want %s" % (partial, got, msg))
    assert not bad, "\n".join(bad)
    assert n > 500
    for partial in T.GOOD:
        assert refusal(partial) is None, partial


def test_the_validator_modules_import_without_micropython():
    # firmware/config.py names each domain's rules module; CPython imports all of them, so
    # none may import machine, micropython or the device-only libraries at its top
    for _, mod, fn in FC.RULES:
        m = __import__(mod, fromlist=[fn])
        assert callable(getattr(m, fn)), (mod, fn)
    assert "machine" not in sys.modules and "micropython" not in sys.modules


def test_change_merges_a_partial_change_and_reset_to_default():
    stored = {"pile": {"id": "PILE-0042"}, "ota": {"window": "01:00-05:00"}}
    new, cfg = CS.change(stored, {"ota": {"window": None, "health_s": 5}, "net": {"order": "wifi"}})
    assert new == {"pile": {"id": "PILE-0042"}, "ota": {"health_s": 5}, "net": {"order": "wifi"}}
    assert cfg["ota"]["window"] == "" and cfg["ota"]["health_s"] == 5 and cfg["pile"]["ports"] == 10
    assert stored["ota"] == {"window": "01:00-05:00"}  # the caller's copy is left alone
    # a change that breaks a cross-section rule names the key it broke
    with pytest.raises(FC.ConfigError) as ei:
        CS.change(stored, {"charging": {"cap_w": 5000}})
    assert ei.value.key == "charging.admit_w" and not ei.value.unknown
    assert ei.value.args[0] == "charging.admit_w: 7800 is above charging.cap_w 5000"
    with pytest.raises(FC.ConfigError) as ei:
        CS.change(stored, {"ota": {"windows": None}})
    assert ei.value.unknown and ei.value.key == "ota.windows"


def upile(*args, timeout=120, sim_dir=None):
    env = dict(os.environ, UPILE_REPL_TIMEOUT="8")
    if sim_dir:
        env["UPILE_SIM_DIR"] = str(sim_dir)  # where `--port sim` finds the running board
    return subprocess.run([str(BIN / "upile"), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=env)


def representatives():
    """One schema case per section (its first int range error, else its first case), and the
    first RULES case of each distinct key, plus the whole-file cases."""
    out, seen = [], set()
    for partial, msg in T.schema_cases(FC):
        sec = msg.split(".", 1)[0]
        if sec not in seen and (" is above " in msg or " at most " in msg):
            seen.add(sec)
            out.append((partial, msg))
    keys = set()
    for partial, msg in T.RULES:
        key = msg.split(":", 1)[0].split("[", 1)[0]
        if key not in keys:
            keys.add(key)
            out.append((partial, msg))
    return out + T.WHOLE[1:]  # a top-level list is not a config file provision reads as one


@pytest.fixture(scope="module")
def board():
    with tempfile.TemporaryDirectory(prefix="upile-cfg-") as tmp:
        b = SimBoard(Path(tmp) / "b")
        files = flashimg.app_files()
        files["/config/pile.json"] = framed(json.dumps(GOOD))
        b.install_files(files)
        b.power_on()
        b.wait_console(r"uPile \S+ on \w+: .* 4 ports", timeout=60)
        b.url = "socket://127.0.0.1:%d" % b.console_port
        b.tmp = Path(tmp)
        (b.tmp / "board.json").write_text(json.dumps({"console_port": b.console_port, "pid": os.getpid()}))
        yield b
        b.close()


def test_provision_refuses_a_bad_value_of_every_section_and_rule_naming_the_key(board):
    cases = representatives()
    assert len(cases) >= 45  # every section, every rule's key
    t0 = time.monotonic()
    bad = []
    for i, (partial, msg) in enumerate(cases):
        f = board.tmp / ("bad%d.json" % i)
        f.write_text(json.dumps(partial))
        r = upile("provision", "--port", "sim", "--config", f, sim_dir=board.tmp)
        want = "upile: config rejected, nothing written: " + msg
        if r.returncode != 1 or r.stderr.strip() != want:
            bad.append("%r: rc %d\n   got  %s\n   want %s" % (partial, r.returncode, r.stderr.strip(), want))
        for s in T.secrets(FC, partial):
            if s in r.stderr + r.stdout:
                bad.append("secret shown for %r" % partial)
    assert not bad, "\n".join(bad)
    print("%d refusals through upile provision in %.1f s" % (len(cases), time.monotonic() - t0))

    # the board's own firmware refuses too (host validation skipped: the board may run
    # another firmware than this tree), through the real transport, and writes nothing
    from upile.cmd_provision import provision

    mark = board.console_mark()
    with pytest.raises(UserError) as ei:
        provision(board.url, {"ota": {"window": "24:00-04:00"}})
    assert str(ei.value) == ("the board rejected the config, nothing written: "
                             "ota.window: '24:00-04:00': 24:00 is not a time of day")
    board.wait_console(r"uPile .* 4 ports", timeout=60, since=mark)  # back at work, same config

    board.power_cut()
    got = board.read_files(["/config/pile.json", "/config/pile.json.tmp"])
    assert got["/config/pile.json"] == framed(json.dumps(GOOD))  # the first config, byte for byte
    assert got["/config/pile.json.tmp"] is None


def test_fsimage_refuses_a_bad_config_before_building(tmp_path):
    bad = tmp_path / "pile.json"
    bad.write_text(json.dumps({"meter": {"chip": "bl0942", "baud": 19200}}))
    out = tmp_path / "vfs.bin"
    r = upile("fsimage", "--out", out, "--config", bad, "--arch", "x64")
    assert r.returncode == 1
    assert r.stderr.strip() == ("upile: config rejected, nothing written: "
                                "meter.baud: bl0942 talks at 4800 or 9600 bps, not 19200")
    assert not out.exists()
