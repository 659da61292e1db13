"""`upile sim start` runs this in the background: one SimBoard kept alive, its console
port in <dir>/board.json, driven by signals from `upile sim cut|on|reset|stop`."""
import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from upile.sim import flashimg
from upile.sim.board import SimBoard

STATE = "board.json"
SIGNALS = {"cut": signal.SIGUSR1, "on": signal.SIGUSR2, "reset": signal.SIGHUP, "stop": signal.SIGTERM}


def main(argv=None):
    p = argparse.ArgumentParser(prog="upile.sim.daemon")
    p.add_argument("--dir", required=True)
    p.add_argument("--flash-size", type=int, default=2 * 1024 * 1024)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--app", action="store_true", help="install the source tree into flash first")
    args = p.parse_args(argv)
    workdir = Path(args.dir)
    workdir.mkdir(parents=True, exist_ok=True)
    state = workdir / STATE
    pending = []
    for name, sig in SIGNALS.items():
        signal.signal(sig, lambda s, f, name=name: pending.append(name))
    board = SimBoard(workdir, flash_size=args.flash_size, console_port=args.port)
    try:
        if args.app or not board.flash_path.exists():
            board.install_files(flashimg.app_files())
        board.power_on()
        info = {"console_port": board.console_port, "pid": os.getpid(), "workdir": str(workdir.resolve()),
                "log": str(board.log_path.resolve()), "flash": str(board.flash_path.resolve()),
                "started": time.time()}
        tmp = state.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=1))
        os.replace(tmp, state)
        while True:
            time.sleep(0.1)
            while pending:
                what = pending.pop(0)
                if what == "stop":
                    return 0
                if what == "cut":
                    board.power_cut()
                elif what == "on":
                    board.power_on()
                elif what == "reset":
                    board.reset()
    finally:
        board.close()
        try:
            state.unlink()
        except FileNotFoundError:
            pass


if __name__ == "__main__":
    sys.exit(main())
