"""`upile sim start|stop|status|cut|on|reset|exec|demo`: the sim board from the shell.

`start` runs a board in the background (state in .sim/board.json: console port, pid), so
`mpremote connect socket://127.0.0.1:PORT` and `upile ... --port sim` reach its console.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from upile import paths
from upile.errors import UserError

DEFAULT_DIR = paths.ROOT / ".sim"


def add_arguments(p):
    p.add_argument("action", choices=["start", "stop", "status", "cut", "on", "reset", "exec", "demo"])
    p.add_argument("code", nargs="?", help="python code for `exec`")
    p.add_argument("--dir", default=str(DEFAULT_DIR), help="board directory (flash, log, state); default .sim")
    p.add_argument("--port", type=int, default=0, help="console TCP port for `start` (default: any free)")
    p.add_argument("--flash-size", type=int, default=2 * 1024 * 1024)
    p.add_argument("--app", action="store_true", help="`start`: (re)install the source tree into flash")
    p.add_argument("--timeout", type=float, default=10.0)


def read_state(workdir=DEFAULT_DIR):
    """The running board's state (dict with console_port, pid...) or None."""
    f = Path(workdir) / "board.json"
    try:
        info = json.loads(f.read_text())
        os.kill(info["pid"], 0)
        return info
    except (OSError, ValueError, KeyError):
        return None


def _start(args):
    if read_state(args.dir):
        raise UserError("a sim board already runs from %s (upile sim stop)" % args.dir)
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    log = open(Path(args.dir) / "daemon.log", "ab")
    cmd = [sys.executable, "-m", "upile.sim.daemon", "--dir", args.dir, "--port", str(args.port),
           "--flash-size", str(args.flash_size)] + (["--app"] if args.app else [])
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        info = read_state(args.dir)
        if info and info["pid"] == proc.pid:
            print("sim board running (pid %d): console on 127.0.0.1:%d" % (proc.pid, info["console_port"]))
            print("  mpremote connect socket://127.0.0.1:%d repl" % info["console_port"])
            return 0
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise UserError("sim board did not start; see %s" % (Path(args.dir) / "daemon.log"))


def _signal(args, name):
    from upile.sim.daemon import SIGNALS

    info = read_state(args.dir)
    if not info:
        raise UserError("no sim board runs from %s (upile sim start)" % args.dir)
    os.kill(info["pid"], SIGNALS[name])
    if name == "stop":
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            try:
                os.kill(info["pid"], 0)
            except ProcessLookupError:
                print("sim board stopped")
                return 0
            time.sleep(0.05)
        os.kill(info["pid"], signal.SIGKILL)
    return 0


def _exec(args):
    info = read_state(args.dir)
    if not info:
        raise UserError("no sim board runs from %s (upile sim start)" % args.dir)
    if not args.code:
        raise UserError("exec needs code, e.g. upile sim exec 'print(1)'")
    url = "socket://127.0.0.1:%d" % info["console_port"]
    return subprocess.call([paths.tool("mpremote"), "connect", url, "resume", "exec", args.code],
                           timeout=args.timeout + 5)


def run(args):
    if args.action == "start":
        return _start(args)
    if args.action in ("stop", "cut", "on", "reset"):
        return _signal(args, args.action)
    if args.action == "status":
        info = read_state(args.dir)
        if not info:
            print("no sim board running from %s" % args.dir)
            return 1
        print(json.dumps(info, indent=1))
        return 0
    if args.action == "exec":
        return _exec(args)
    from upile.sim import demo

    return demo.run(args)
