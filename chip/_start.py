# The sim chip's ROM + _boot.py: run by the harness as `micropython -i chip/_start.py` on a
# pty. Imports the chip's own modules (machine, esp32, network, socket: built into a real
# ESP32's firmware) from this folder while the host filesystem is still there, then mounts
# the flash file as littlefs at '/' (device paths and `os.listdir('/')` equal the ESP32's),
# sets sys.path as the board's, and runs /boot.py and /main.py in the REPL's namespace as
# the ESP32 does. When main.py ends (or on Ctrl-C), `-i` gives the REPL.


def _mount():
    import os
    import sys
    import vfs

    sys.path[:] = [os.getenv("UPILE_SIM_CHIP"), ".frozen"]  # the chip's own modules, flash included
    from simflash import SimFlash, mount
    import _simlink
    import machine
    import esp32
    import network
    import socket

    parts = os.getenv("UPILE_SIM_PARTS")
    if parts:
        _simlink.parts = open(parts, "r+b")
    rtcmem = os.getenv("UPILE_SIM_RTCMEM")
    if rtcmem:
        _simlink.rtcmem = open(rtcmem, "r+b")
    bd = SimFlash(os.getenv("UPILE_SIM_FLASH"))
    vfs.umount("/")
    mount(bd, "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/lib"]
    _simlink.send("hello %s" % os.getenv("UPILE_SIM_CAUSE"))


def _run(path):
    import sys

    try:
        with open(path) as f:
            src = f.read()
    except OSError:
        return False
    try:
        # the source text goes before it runs: an ESP32 compiles main.py from the file as
        # it reads it, and the app runs inside main.py for the whole boot
        code = compile(src, path[1:], "exec")
        src = None
        exec(code, globals())
    except (Exception, KeyboardInterrupt) as e:
        sys.print_exception(e)
        return isinstance(e, KeyboardInterrupt)
    return False


_mount()
if not _run("/boot.py") and __import__("os").getenv("UPILE_SIM_MODE") not in ("raw", "repl"):
    _run("/main.py")
del _mount, _run
