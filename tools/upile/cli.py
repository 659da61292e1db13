"""`upile` command line: a table of subcommands, each in its own module.

Every subcommand module exposes `add_arguments(parser)` and `run(args) -> int`. A user
mistake raises `UserError`; main() prints `upile: message` on stderr and exits 1, never a
traceback.
"""
import argparse
import importlib
import sys

from upile.errors import UserError

# name -> (module, one-line help). Modules are imported only when their command runs.
COMMANDS = {
    "build": ("upile.cmd_build", "compile the device code with mpy-cross into build/"),
    "sim": ("upile.cmd_sim", "run the sim board (an ESP32 on the host): start|stop|status|cut|on|reset|exec|demo"),
    "keygen": ("upile.cmd_keygen", "make an Ed25519 release key pair (private key mode 0600)"),
    "release": ("upile.cmd_release", "pack the built app or an image and sign its DSSE manifest"),
    "verify": ("upile.cmd_verify", "check a release folder as the device would"),
    "serve": ("upile.cmd_serve", "serve a release folder over HTTP with Range support"),
    "fsimage": ("upile.cmd_fsimage", "build a littlefs image of a factory-fresh pile for the vfs partition"),
    "provision": ("upile.cmd_provision", "validate a device config and write it to a board's /config/pile.json"),
    "deploy": ("upile.cmd_deploy", "copy the app into a board's spare slot and switch with a trial boot"),
    "status": ("upile.cmd_status", "show a board's version, slots, OTA state, ports, bills, link, heap and flash "
               "(asks the running app: charging goes on)"),
    "logs": ("upile.cmd_logs", "print a board's persisted log ring (streamed by the running app)"),
    "console": ("upile.cmd_console", "open a board's console (mpremote; Ctrl-C there stops the app into the REPL)"),
    "csms": ("upile.cmd_csms", "a bench OCPP 1.6J CSMS: piles, sessions, remote start with a budget, config"),
    "flash": ("upile.cmd_flash", "write MicroPython (OTA variant) and a filesystem image to an ESP32 with esptool"),
    "dny-server": ("upile.cmd_dny_server", "a DNY (AP3000) back end for tests and the bench: piles, orders, settlements, in-band updates, faults"),
}


def _parser():
    p = argparse.ArgumentParser(prog="upile", description="uPile charge-point firmware tools")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (modname, helptext) in COMMANDS.items():
        sp = sub.add_parser(name, help=helptext, description=helptext)
        sp.set_defaults(_module=modname)
        importlib.import_module(modname).add_arguments(sp)
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        return importlib.import_module(args._module).run(args) or 0
    except UserError as e:
        print("upile: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("upile: interrupted", file=sys.stderr)
        return 130
