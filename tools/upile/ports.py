"""What `--port` means: a serial device, a pyserial URL, or `sim` (the running sim board).

The sim board's harness writes .sim/board.json with the TCP port of the chip's console; that
console speaks the same REPL bytes as a board's USB serial, so `sim` becomes
`socket://127.0.0.1:<port>` and every tool (mpremote, ours) treats it like a board.
"""
import json
import os
from pathlib import Path

from upile import paths
from upile.errors import UserError

SIM = "sim"


def sim_state_file():
    return Path(os.environ.get("UPILE_SIM_DIR") or (paths.ROOT / ".sim")) / "board.json"


def sim_console_port():
    f = sim_state_file()
    try:
        state = json.loads(f.read_text())
    except FileNotFoundError:
        raise UserError("no sim board is running (%s missing): start one with `upile sim start`" % f)
    except (OSError, ValueError) as e:
        raise UserError("cannot read the sim board state %s: %s" % (f, e))
    port = state.get("console_port") if isinstance(state, dict) else None
    if not isinstance(port, int):
        raise UserError("%s names no console port: is the sim board running? (`upile sim status`)" % f)
    return port


def device_url(port):
    """A pyserial URL or device path for the console (REPL) of PORT."""
    if port == SIM:
        return "socket://127.0.0.1:%d" % sim_console_port()
    if "://" in port:
        return port
    if not os.path.exists(port):
        raise UserError("no such serial port: %s" % port)
    return port


def esptool_port(port):
    if port == SIM:
        raise UserError("the sim board has no ROM bootloader to flash: build a filesystem with "
                        "`upile fsimage` and boot the sim from it instead")
    if "://" not in port and not os.path.exists(port):
        raise UserError("no such serial port: %s" % port)
    return port
