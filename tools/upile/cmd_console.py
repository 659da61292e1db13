"""`upile console`: the board's REPL through mpremote (Ctrl-] or Ctrl-x leaves it)."""
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
