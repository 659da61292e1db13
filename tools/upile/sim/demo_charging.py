"""`make sim` scene: two bikes charging, one stops when full, one when its budget is used.

run(board, say) is called by the demo (tools/upile/sim/demo.py). The story runs the real
charging code in a micropython process over the sim physics (simulated minutes pass in
about a second). The firmware on `board` also starts its pile at boot (its console says
"charging: N ports"); driving that one needs a command path into the running app, which
arrives with the OCPP layer.
"""
import os
import subprocess

from upile import paths


def run(board=None, say=print):
    import sys

    sys.path.insert(0, str(paths.ROOT / "tests"))
    from mpy import device_path, micropython_bin

    if board is not None:
        text = board.console_text()
        line = [l for l in text.splitlines() if l.startswith("charging:")]
        say("chip: %s" % (line[-1] if line else "charging not started on the sim chip"))
    env = dict(os.environ, MICROPYPATH=device_path(paths.ROOT / "tools" / "upile" / "sim"), UPILE_TMP="/tmp")
    p = subprocess.run([micropython_bin(), str(paths.ROOT / "tools" / "upile" / "sim" / "demo_charging_chip.py")],
                       cwd="/tmp", env=env, capture_output=True, text=True, timeout=120)
    for l in p.stdout.splitlines():
        if " I charging" not in l:
            say(l)
    if p.returncode:
        say("charging demo failed: " + p.stderr[-500:])
    return p.returncode
