"""`upile console`: the board's console through mpremote (Ctrl-] or Ctrl-x leaves it).

Attaching interrupts nothing: the app's prints scroll by, and what you type goes to the app,
which ignores every line but its console channel's marked commands (firmware/proto/maint/
console.py). Ctrl-C stops the app, and its charging, into the REPL; Ctrl-D there soft-resets
the board so the app starts again. To read a running pile use `upile status` / `upile logs`:
they ask the app and stop nothing.
"""
import os
import subprocess

from upile import paths
from upile.errors import UserError
from upile.ports import device_url


def add_arguments(p):
    p.add_argument("--port", required=True, help="serial device, socket://host:port, or `sim`")


def run(args):
    url = device_url(args.port)
    cmd = [paths.tool("mpremote"), "connect", url, "repl"]
    try:
        return subprocess.run(cmd).returncode
    except OSError as e:
        raise UserError("cannot run mpremote: %s" % e)
