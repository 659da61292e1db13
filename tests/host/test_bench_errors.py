"""User mistakes with the bench tools: one `upile: ...` line on stderr, exit status 1, no traceback."""
import json
import os
import pty
import socket
import subprocess
import sys
import threading
from pathlib import Path

import serial

BIN = Path(sys.executable).parent


def upile(*args, env=None):
    e = dict(os.environ, UPILE_REPL_TIMEOUT="1.5")
    e.update(env or {})
    return subprocess.run([str(BIN / "upile"), *map(str, args)], capture_output=True, text=True, env=e, timeout=60)


def refused_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def assert_user_error(r, why):
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.startswith("upile: ") and why in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_unknown_ports(tmp_path):
    for cmd in ("status", "logs", "deploy"):
        assert_user_error(upile(cmd, "--port", "/dev/ttyNOPE9"), "no such serial port: /dev/ttyNOPE9")
    assert_user_error(upile("status", "--port", "sim", env={"UPILE_SIM_DIR": str(tmp_path)}),
                      "no sim board is running")
    (tmp_path / "board.json").write_text(json.dumps({"pid": 1}))
    assert_user_error(upile("logs", "--port", "sim", env={"UPILE_SIM_DIR": str(tmp_path)}), "names no console port")
    assert_user_error(upile("status", "--port", "socket://127.0.0.1:%d" % refused_port()), "cannot open")


def test_board_not_answering():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    held = []
    threading.Thread(target=lambda: held.append(srv.accept()), daemon=True).start()
    try:
        r = upile("status", "--port", "socket://127.0.0.1:%d" % srv.getsockname()[1])
        assert_user_error(r, "is not answering (no raw REPL")
    finally:
        srv.close()


def test_busy_serial_port():
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    holder = serial.Serial(path, exclusive=True)  # another program has the port open
    try:
        assert_user_error(upile("status", "--port", path), "busy")
    finally:
        holder.close()
        os.close(master)
        os.close(slave)


def test_missing_files(tmp_path):
    assert_user_error(upile("provision", "--port", "/dev/ttyNOPE9", "--config", tmp_path / "nope.json"),
                      "cannot read config")
    assert_user_error(upile("deploy", "--port", "/dev/ttyNOPE9", "--src", tmp_path), "not a uPile source tree")
    assert_user_error(upile("fsimage", "--out", tmp_path / "x.bin", "--keys", tmp_path / "nope.json"),
                      "cannot read keys")
