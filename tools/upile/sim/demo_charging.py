"""`make sim` scene: two bikes charge on the running sim pile, driven through its service
port as a field engineer would: one stops when full, one when its prepaid budget is used.

The OTA story's board (tools/upile/sim/demo.py) calls attach(board) before power-on: it
plugs the meters' peer (the sim physics) on UART 2 and the technician's cable on the
service UART 1, and returns the device config this scene needs. Every threshold is config
(written to /config/pile.json with the rest of the demo's config): no clock tricks, the
bikes charge in real time; the full one is a tiny battery so the story fits in ~30 s.
"""
import time

from upile import paths
from upile.sim.peers.meter import MeterPeer
from upile.sim.peers.service import ServicePeer, ServiceTimeout

BOARD = "esp32-10p"
SERVICE_UART = 1
METER_UART = 2
# device config of this scene (merged into /config/pile.json by the caller)
CONFIG = {
    # full: below 50 % of the session's power for 10 s, after 5 s of charging, 3 s trickle
    "charging": {"board": BOARD, "full_pct": 50, "full_s": 10, "full_min_s": 5, "float_s": 3},
    "tariff": {"mode": "time", "unit_fen": 100, "unit_min": 1},  # 1 yuan per minute (demo price)
    # without a modem the header takes its UART1 pins 18/39 (docs/hardware.md); the config
    # validator refuses pins another function holds (the console's 1/3, the pin map's)
    "service": {"enabled": True, "uart": SERVICE_UART, "baud": 115200, "tx": 18, "rx": 39},
    "modem": {"enabled": False},  # the OTA board is wired; its modem would take UART 1, the service cable's
}
BIKES = (
    (3, "plug 3 300 1 0.5", "start 3 money 100 app-1001", "small battery half full, prepaid 100 fen"),
    (7, "plug 7 250 600 0.2", "start 7 money 20 app-1002", "big battery nearly empty, prepaid 20 fen"),
)

_peers = {}


def board_pins(board=BOARD):
    """The firmware's own pin map (firmware/board/pins.py, loaded from its file)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_upile_fw_pins", paths.ROOT / "firmware" / "board" / "pins.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get(board)


def attach(board, n=10):
    """Before power-on: meters (physics) and service cable on `board`; returns CONFIG."""
    meter = MeterPeer(board_pins(), n=n)
    svc = ServicePeer()
    board.attach_uart(METER_UART, meter)
    board.attach_uart(SERVICE_UART, svc)
    _peers[id(board)] = (meter, svc)
    return CONFIG


def peers(board):
    """(MeterPeer, ServicePeer) attached to `board` by attach()."""
    return _peers[id(board)]


def _fmt(ev):
    """One readable line of an `evt` line."""
    w = ev.split()
    kv = dict(x.split("=", 1) for x in w if "=" in x)
    if w[0] == "status":
        why = kv.get("cause")
        return "port %s: %s -> %s%s" % (w[1], kv.get("prev"), w[2], " (%s)" % why if why != "-" else "")
    if w[0] == "started":
        return "port %s: session %s started, %s %s, tag %s" % (w[1], kv["id"], kv["kind"], kv["amount"], kv["tag"])
    if w[0] == "bill":
        return "port %s: session %s stopped: %s/%s" % (w[1], kv["id"], kv["reason"], kv["cause"])
    return ev


def _bill(line):
    kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
    return ("bill %s port %s (%s %s): %.2f Wh in %s s, cost %s fen, refund %s fen, stop %s/%s"
            % (kv["id"], kv["port"], kv["kind"], kv["amount"], int(kv["mwh"]) / 1000.0, kv["s"], kv["fen"],
               kv["refund"], kv["reason"], kv["cause"]))


def run(board, say=print, timeout=50.0):
    if id(board) not in _peers:
        say("charging: no peers attached (call demo_charging.attach(board) before power_on)")
        return 1
    meter, svc = _peers[id(board)]
    t0 = time.monotonic()
    try:
        say("service port: " + svc.ok("status", timeout=30))
        for port, plug, start, what in BIKES:
            meter.command(plug)
            say("bike on port %d: %s; technician types '%s' -> %s" % (port, what, start, svc.ok(start)))
        busy = {port for port, _, _, _ in BIKES}
        while busy:  # until every port billed and went back to Available
            left = timeout - (time.monotonic() - t0)
            ev = svc.next_event(left) if left > 0 else None
            if ev is None:
                raise ServiceTimeout("ports %s still busy after %.0f s" % (sorted(busy), timeout))
            say("  " + _fmt(ev))
            w = ev.split()
            if w[0] == "status" and w[2] == "Available":
                busy.discard(int(w[1]))
        bills = svc.command("bills")
        say("pending bills: %d" % (len(bills) - 1))
        for line in bills[1:]:
            port = int(line.split("port=", 1)[1].split()[0])
            truth = meter.plant.ports[port - 1].energy_wh
            say("  %s (true energy in the sim: %.2f Wh)" % (_bill(line[3:]), truth))
            sid = line.split("id=", 1)[1].split()[0]
            svc.ok("ack " + sid)
        closed = [i + 1 for i, p in enumerate(meter.plant.ports) if p.contact()]
        left = len(svc.command("bills")) - 1
        idle = "idle=1" in svc.ok("status")
        say("bills acked, %d still pending; relays closed: %s; pile idle: %s" % (left, closed or "none", idle))
        return 0
    except (ServiceTimeout, RuntimeError) as e:
        say("charging scene FAILED: %s" % e)
        return 1
