"""`upile logs`: print the board's persisted log ring (/data/log/log.1 then log.0, lib/log.py),
oldest line first.

The running app streams it from flash on its console channel (`logs`): nothing is
interrupted. Only when the app does not answer is the ring read in the raw REPL, which stops
a running app; stderr says so, and the board is soft-reset afterwards (`--no-restart`: not).
"""
from upile import appchan, devcode
from upile.device import read_running


def add_arguments(p):
    p.add_argument("--port", required=True, help="serial device, socket://host:port, or `sim`")
    p.add_argument("--no-restart", action="store_true",
                   help="if the app does not answer and the raw REPL is used: leave the board at the REPL afterwards")


def from_app(ch, first_timeout):
    lines = appchan.streamed(ch.ok("logs", first_timeout))
    return "".join(line + "\n" for line in lines)


def from_repl(d):
    return d.exec(devcode.LOGS, timeout=60)


def run(args):
    text = read_running(args.port, from_app, from_repl, restart=not args.no_restart, what="reading the log")
    if text:
        print(text, end="" if text.endswith("\n") else "\n")
    else:
        print("(the log ring is empty)")
    return 0
