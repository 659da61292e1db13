"""`make sim` / `upile sim demo`: the OTA story on a simulated pile, one line per event.

Builds and signs v1, v2 and a deliberately broken v3 (raises at start) with a dev key kept
under .sim/, serves them over HTTP on loopback, boots a fresh sim pile with v1, lets it
update itself to v2, then publishes v3 and shows the automatic rollback to v2. Other
engineers' scenes (tools/upile/sim/demo_charging.py, demo_net.py, demo_ocpp.py,
demo_ocpp_ops.py, demo_dny.py, demo_front.py) run in between when they exist. Exit status 0
only when every step happened.
"""
import importlib
import re
import shutil
import threading
import time

from upile import paths
from upile.sim import otakit
from upile.sim.board import SimBoard

_SHOW = re.compile(r"(OTA \w+ .*|uPile \d\S* on .*|main: the app failed.*|boot: .*)")
BROKEN = 'raise RuntimeError("v3 is broken: fails at start")\nVERSION = "3.0.0"\n'


class Follower:
    """Prints the chip's interesting console lines as they come (a thread)."""

    def __init__(self, board, say):
        self.b, self.say, self.seen = board, say, 0
        self.stop = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop:
            text = self.b.console_text()
            if len(text) < self.seen:
                self.seen = 0  # console cleared at power-on
            new, self.seen = text[self.seen:], len(text)
            for line in new.splitlines():
                m = _SHOW.search(line)
                if m:
                    self.say("chip: " + m.group(1).strip())
            time.sleep(0.05)

    def shown(self, pos, timeout=5.0):
        """Until the console text up to `pos` has been looked at (its lines printed)."""
        end = time.monotonic() + timeout
        while self.seen < pos and time.monotonic() < end:
            time.sleep(0.01)


def wait_for(board, pattern, timeout, start=0):
    """Position after the first match of `pattern` in the console text past `start`."""
    rx = re.compile(pattern)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = rx.search(board.console_text(), start)
        if m:
            return m.end()
        time.sleep(0.05)
    raise TimeoutError("no %r within %d s" % (pattern, timeout))


def _scene(name, board, say):
    try:
        mod = importlib.import_module("upile.sim." + name)
    except ImportError:
        return
    say("--- scene %s ---" % name)
    if mod.run(board, say):
        raise TimeoutError("scene %s did not complete" % name)


def _attach(name, board):
    """A scene's peers and device config on this board, before power-on ({} if none)."""
    try:
        mod = importlib.import_module("upile.sim." + name)
    except ImportError:
        return {}
    return mod.attach(board) if hasattr(mod, "attach") else {}


def run(args=None):
    t0 = time.monotonic()

    def say(msg):
        print("[%5.1fs] %s" % (time.monotonic() - t0, msg), flush=True)

    work = paths.ROOT / ".sim" / "ota-demo"
    shutil.rmtree(work, ignore_errors=True)
    key, keys = otakit.dev_key(paths.ROOT / ".sim" / "devkey")
    say("building and signing v1, v2 and a broken v3 (dev key in .sim/devkey)")
    rel = {}
    for ver, n, over in (("1.0.0", 1, None), ("2.0.0", 2, None), ("3.0.0", 3, {"firmware/version.py": BROKEN})):
        tree = otakit.app_tree(work / ("tree-" + ver), ver, extra=over)
        rel[ver] = (tree, otakit.make(work / "srv" / ver, tree, ver, n, key))
    ch = otakit.Channel(work / "srv")
    ch.publish(work / "srv" / "1.0.0")
    say("release server on %s" % ch.url())
    board = SimBoard(work / "board")
    follower = None
    try:
        tree, payload = rel["1.0.0"]
        extra = _attach("demo_charging", board)  # meters + service cable, short thresholds
        board.install_files(otakit.factory_files(tree, work / "srv" / "1.0.0", payload, keys,
                                                 otakit.sim_config(ch.url(), extra=extra)))
        board.net.add_ap("sim-ap", "simkey123")
        otakit.wired_link(board)
        follower = Follower(board, say)
        say("power on: factory pile with v1 in slot a")
        board.power_on()
        pos = wait_for(board, r"uPile 1\.0\.0 on", 30)
        _scene("demo_charging", board, say)
        _scene("demo_net", board, say)
        _scene("demo_ocpp", board, say)
        _scene("demo_ocpp_ops", board, say)
        _scene("demo_dny", board, say)
        _scene("demo_front", board, say)
        say("publishing v2")
        ch.publish(work / "srv" / "2.0.0")
        pos = wait_for(board, r"uPile 2\.0\.0 on", 60, pos)
        pos = wait_for(board, r"OTA Installed \S+ v=2\.0\.0", 30, pos)
        say("publishing v3 (broken: raises at start)")
        ch.publish(work / "srv" / "3.0.0")
        pos = wait_for(board, r"OTA RolledBack .* v=3\.0\.0", 60, pos)
        pos = wait_for(board, r"uPile 2\.0\.0 on[^\n]*\n", 30, pos - 400 if pos > 400 else 0)
        follower.shown(pos)
        say("OK: updated v1 -> v2, broken v3 rolled back automatically, v2 running (%.0f s)"
            % (time.monotonic() - t0))
        return 0
    except TimeoutError as e:
        say("FAILED: %s" % e)
        print(board.console_text()[-3000:])
        return 1
    finally:
        if follower:
            follower.stop = True
        board.close()
        ch.close()
