"""A sim pile talking OCPP 1.6J to the bench CSMS, for the host tests (docs/ocpp.md "Tests").

OcppPile(csms, ...) boots a sim board with the compiled app (build/x64, `upile build`), the
meters' peer (sim physics) on UART 2, and either the service cable on UART 1 (taps: a card
presented at a port) or the 4G modem emulator there (cellular), Wi-Fi access point "depot",
and /config/pile.json pointing its `ocpp` section at the CSMS (merged with `cfg`).
"""
import contextlib
import json
import tempfile
import threading
import time
from pathlib import Path

from upile import cmd_build, paths
from upile.sim.board import SimBoard
from upile.sim.peers.meter import MeterPeer
from upile.sim.peers.modem import ModemPeer
from upile.sim.peers.service import ServicePeer
from upile.sim import demo_charging

ROOT = paths.ROOT
_built = []
_VALIDATE = threading.Lock()


def app_files():
    """boot.py, main.py and the compiled app at their device paths (as a factory pile holds
    them outside the slots): the chip loads .mpy, no compile heap, a quick boot."""
    if not _built:
        _built.append(cmd_build.build("x64"))
    out = _built[0]
    files = {"/boot.py": (ROOT / "boot.py").read_bytes(), "/main.py": (ROOT / "main.py").read_bytes()}
    for p in Path(out).rglob("*.mpy"):
        files["/" + p.relative_to(out).as_posix()] = p.read_bytes()
    return files


def merge(base, extra):
    for sec, vals in (extra or {}).items():
        base.setdefault(sec, {}).update(vals)
    return base


class OcppPile:
    def __init__(self, csms, cid="CP1", n=2, cfg=None, modem=False, files=None, heap="2M", workdir=None,
                 power=True, boots=1, hold_s=5.0):
        # heap: the sim chip holds every module's bytecode and its own shims in the heap (an ESP32
        # runs them from flash, frozen); with OCPP parts 1-3 a pile that served a whole OCTT file
        # ran out of 1M (a 2.5 KB allocation in validate.py); the device's heap is measured by
        # bench/ocpp.py on a frozen 32-bit build instead
        self.csms = csms
        self.cid = cid
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="upile-ocpp-")
            workdir = self._tmp.name
        self.b = SimBoard(workdir, heap=heap)
        self.meter = MeterPeer(demo_charging.board_pins("esp32-2p"), n=n, hold_s=hold_s)
        self.b.attach_uart(2, self.meter)
        self.svc = self.modem = None
        base = {"pile": {"id": cid, "ports": n}, "charging": {"board": "esp32-2p", "noload_s": 30, "sample_s": 0},
                "net": {"ntp_host": ""}, "wifi": {"networks": [{"ssid": "depot", "key": "secret-123"}]},
                "backend": {"protocol": "ocpp"}, "ocpp": {"url": csms.url, "backoff_min_s": 1, "backoff_max_s": 4}}
        if modem:
            self.modem = ModemPeer(ready_s=0.5)
            self.b.attach_uart(1, self.modem)
            base["modem"] = {"apn": "cmnet"}
        else:
            self.svc = ServicePeer()
            self.b.attach_uart(1, self.svc)
            base["modem"] = {"enabled": False}
            base["service"] = {"enabled": True, "uart": 1, "tx": 18, "rx": 39}
            base["net"]["order"] = "wifi"
        self.cfg = merge(base, cfg)
        from upile import hostconfig

        with _VALIDATE:  # the validator imports and forgets modules: one thread at a time
            hostconfig.validate(self.cfg)  # a refused config would boot on defaults: fail here instead
        all_files = app_files()
        all_files["/config/pile.json"] = json.dumps(self.cfg).encode()
        all_files.update(files or {})
        self.b.install_files(all_files)
        self.b.net.add_ap("depot", "secret-123", rssi=-58)
        if power:
            self.on(boots)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.b.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    @property
    def p(self):
        """The CSMS's record of this pile."""
        return self.csms.pile(self.cid)

    def on(self, boots=None, timeout=60):
        """Power on and wait for the boot the CSMS counts (boots: the total expected)."""
        want = (self.p.boots + 1) if boots is None else boots
        self.b.power_on()
        if want:
            self.csms.wait_pile(self.cid, timeout, boots=want)
            self.settled()
        return self.p

    def cut(self):
        """Power cut: SIGKILL at this instant."""
        self.b.power_cut()

    def last_boot(self):
        """Log position of the last BootNotification the pile sent."""
        log = self.p.log
        for i in range(len(log) - 1, -1, -1):
            if log[i][1] == "in" and '"BootNotification"' in log[i][2]:
                return i
        return 0

    def settled(self, timeout=30):
        """Every connector reported since the last boot (the statuses after an accepted boot)."""
        n = self.cfg["pile"]["ports"]

        def done():
            seen = set(x["connectorId"] for _, x in self.csms.calls(self.cid, "StatusNotification", self.last_boot()))
            # and the CSMS's handler took every one (it runs after the frame is logged)
            return all(c in seen for c in range(n + 1)) and \
                len(self.p.statuses) >= len(self.csms.calls(self.cid, "StatusNotification"))

        self.csms.wait(done, timeout, "statuses of every connector after the boot")

    def plug(self, port, cc_w=300, wh=5000, soc=0.2):
        self.meter.command("plug %d %d %d %s" % (port, cc_w, wh, soc))

    def unplug(self, port):
        self.meter.command("unplug %d" % port)

    def tap(self, port, tag):
        """A card presented at the port (the service cable's `tap`): the reply text."""
        return self.svc.command("tap %d %s" % (port, tag), timeout=30)[0]

    def status_of(self, c):
        s = self.p.status.get(c)
        return s[0] if s else None

    def wait_status(self, c, status, timeout=30):
        return self.csms.wait(lambda: self.status_of(c) == status, timeout, "connector %d %s" % (c, status))

    def wait_calls(self, action, n=1, timeout=30):
        return self.csms.wait(lambda: (lambda x: x if len(x) >= n else None)(self.csms.calls(self.cid, action)),
                              timeout, "%d x %s" % (n, action))

    def running(self):
        return [t for t, v in self.p.tx.items() if v["stop"] is None]

    def wait_tx(self, n=1, timeout=30):
        """The first n transactions the CSMS holds (ids)."""
        return self.csms.wait(lambda: sorted(self.p.tx)[:n] if len(self.p.tx) >= n else None, timeout,
                              "%d transactions" % n)

    def wait_stopped(self, txid, timeout=30):
        return self.csms.wait(lambda: self.p.tx[txid]["stop"], timeout, "transaction %d stopped" % txid)

    def console(self):
        return self.b.console_text()

    def pile_status(self):
        """The pile's own word (the service cable's `status`): {port: status}, idle flag."""
        w = self.svc.command("status", timeout=10)[0].split()
        return {int(k): v for k, v in (x.split("=") for x in w if "=" in x and x[0].isdigit())}, "idle=1" in w

    def wait_pile_status(self, port, status, timeout=30):
        """The pile itself (not the CSMS, which may be out of reach) says `port` is `status`."""
        self.csms.wait(lambda: self.pile_status()[0].get(port) == status, timeout, "pile port %d %s" % (port, status))

    def ocpp_info(self):
        """The charge point's own `upile status` section (diag "ocpp"): queue, counters."""
        import json as _json

        lines = self.svc.command("status json", timeout=10)
        return _json.loads("".join(x[5:] for x in lines[1:-1])).get("live", {}).get("ocpp") or {}

    def idle(self, timeout=40):
        """Every port idle and Available again, on the pile and at the CSMS (tests leave the
        pile as they found it)."""
        n = self.cfg["pile"]["ports"]
        for c in range(1, n + 1):
            self.unplug(c)
            if self.svc is not None:
                self.svc.command("stop %d" % c, timeout=10)  # err no_session when none runs
        if self.svc is not None:
            def ok():
                ports, idle = self.pile_status()
                return idle and all(v == "Available" for v in ports.values())
            self.csms.wait(ok, timeout, "the pile idle")
        self.csms.wait(lambda: all(self.status_of(c) == "Available" for c in range(1, n + 1)) and not self.running(),
                       timeout, "every connector Available at the CSMS")


def txid_of(csms, pile, mid, timeout=30):
    """The transactionId the CSMS gave StartTransaction `mid` (its handler may still be
    running when the frame is already in the log)."""
    got = csms.wait(lambda: [t for t, v in list(pile.tx.items()) if v["start_id"] == mid], timeout,
                    "the CSMS's transaction of %s" % mid)
    # and its answer on the wire: a RemoteStop sent sooner could overtake the transactionId
    # it names (the CSMS's handler records it before the `ocpp` package sends the answer)
    csms.wait(lambda: any(d == "out" and _answers(m, mid) for _, d, m in list(pile.log)), timeout,
              "the answer to %s sent" % mid)
    return got[0]


def _answers(frame, mid):
    try:
        m = json.loads(frame)
    except ValueError:
        return False
    return isinstance(m, list) and len(m) > 1 and m[0] == 3 and m[1] == mid


def wait(pred, timeout=30, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = pred()
        if r:
            return r
        time.sleep(0.05)
    raise AssertionError("no %s within %.0f s" % (what, timeout))


@contextlib.contextmanager
def case_on(env, request):
    """For a module's shared (csms, pile) fixture: the pile back if an earlier case reset it,
    and the sim console's tail shown when the case fails (`with case_on(env, request) as pile:
    yield pile`, the case's clean-up after the yield)."""
    c, pile = env
    if not pile.p.connected:
        c.wait_pile(pile.cid, 60, boots=pile.p.boots)
    with ConsoleOnFailure(request, pile):
        yield pile


class ConsoleOnFailure:
    """In a fixture: `with ConsoleOnFailure(request, pile): yield` prints the sim console's
    tail when the test failed (the report shows it as captured teardown output)."""

    def __init__(self, request, pile):
        self.request, self.pile = request, pile

    def __enter__(self):
        self.failed = self.request.session.testsfailed
        return self

    def __exit__(self, *exc):
        if self.request.session.testsfailed > self.failed or exc[0] is not None:
            print("---- sim console (tail) ----")
            print(self.pile.console()[-6000:])
