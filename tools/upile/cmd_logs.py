"""`upile logs`: print the board's persisted log ring (/data/log/log.1 then log.0, lib/log.py)."""
from upile import devcode
from upile.device import Device


def add_arguments(p):
    p.add_argument("--port", required=True, help="serial device, socket://host:port, or `sim`")
    p.add_argument("--no-restart", action="store_true", help="leave the board at the REPL afterwards")


def run(args):
    with Device(args.port) as d:
        d.restart = not args.no_restart
        text = d.exec(devcode.LOGS, timeout=60)
    if text:
        print(text, end="" if text.endswith("\n") else "\n")
    else:
        print("(the log ring is empty)")
    return 0
