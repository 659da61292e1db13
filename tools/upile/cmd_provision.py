"""`upile provision`: write per-device settings to /config/pile.json on a board.

The file is validated on the host with the firmware's own validator (firmware/config.py:
the schema and every domain's rules, docs/config.md) and again on the board by the firmware
it runs, before anything is written; the board's cfgstore.write() then writes it with fsatomic
(temp file + rename, CRC framing) and reads it back. A refusal names the key; nothing is
written. Secrets (Wi-Fi keys, passwords, tokens) are never printed.
"""
import binascii
import json

from upile import devcode, hostconfig
from upile.device import Device
from upile.errors import UserError

PATH = "/config/pile.json"


def add_arguments(p):
    p.add_argument("--port", required=True, help="serial device, socket://host:port, or `sim`")
    p.add_argument("--config", required=True, help="device config (JSON) to write")
    p.add_argument("--no-restart", action="store_true", help="leave the board at the REPL afterwards")


def provision(port, cfg, restart=True):
    data = json.dumps(cfg, separators=(",", ":")).encode()
    with Device(port, soft_reset=True) as d:  # a clean heap: the app does not run meanwhile
        d.restart = restart
        d.exec("import binascii\n_cfg=bytearray()")
        for i in range(0, len(data), 384):
            d.exec("_cfg.extend(binascii.a2b_base64(%r))" % binascii.b2a_base64(data[i:i + 384], newline=False).decode())
        answer = d.json(devcode.PROVISION % {"path": PATH})
        d.exec("del _cfg")
    if answer != "ok":
        raise UserError("the board rejected the config, nothing written: %s" % hostconfig.scrub(str(answer), cfg))


def run(args):
    cfg = hostconfig.read_config(args.config)
    provision(args.port, cfg, restart=not args.no_restart)
    print("wrote %s on %s:" % (PATH, args.port))
    print(json.dumps(hostconfig.masked(cfg), indent=2, sort_keys=True))
    return 0
