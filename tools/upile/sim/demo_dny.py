"""`make sim` scene: the pile and an e-bike back end over DNY (AP3000).

A board of its own whose only link is the 4G module (the modem emulator with PPP on UART 1,
meters on UART 2, two ports) talks DNY to `upile dny-server`: it registers with its ICCID,
beats, takes the server's time; a paid order (one minute, by time) charges a bike to its
budget and is settled once, while the server answers late and sends garbage; an in-band
"update" that is not our signed release is refused before a byte of it is written. The
server's side is printed as it sees it. Raises TimeoutError when a step does not happen.
"""
import json
import tempfile
import time

from upile import dnyproto as P
from upile.dnyserver import DnyServer
from upile.sim import demo_charging, flashimg, physics
from upile.sim.board import SimBoard
from upile.sim.peers.meter import MeterPeer
from upile.sim.peers.modem import ModemPeer

NUMBER = 13544001
PHYS = P.phys_of(0x04, NUMBER)  # class 04: a 2-port pile
ICCID = "898604D9162390488298"


def _wait(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = pred()
        if r:
            return r
        time.sleep(0.05)
    raise TimeoutError("dny scene: no %s within %d s" % (what, timeout))


def _config(port):
    return {"pile": {"ports": 2}, "charging": {"board": "esp32-2p", "sample_s": 5},
            "tariff": {"mode": "time", "unit_fen": 60, "unit_min": 1},  # 1 fen a second
            "net": {"order": "cellular", "ntp_host": ""}, "modem": {"apn": "cmnet", "model": "ec200"},
            "backend": {"host": "127.0.0.1", "port": port, "protocol": "dny"},
            "dny": {"number": NUMBER, "heartbeat_s": 5, "report_s": 10, "settle_delay_ms": 2000,
                    "settle_retry_s": 10, "settle_next_s": 1}}


def run(board, say):
    srv = DnyServer().start()
    with tempfile.TemporaryDirectory(prefix="upile-demo-dny-") as tmp:
        b = SimBoard(tmp, heap="1M")
        try:
            meter = MeterPeer(demo_charging.board_pins("esp32-2p"), n=2, hold_s=0)
            b.attach_uart(2, meter)
            b.attach_uart(1, ModemPeer(vendor="quectel", ready_s=0.5, iccid=ICCID))
            files = flashimg.app_files()
            files["/config/pile.json"] = json.dumps(_config(srv.port)).encode()
            b.install_files(files)
            say("dny: a pile on 4G only, physical id %08x, points at the DNY server on port %d" % (PHYS, srv.port))
            b.power_on()
            srv.wait_pile(90)
            p = srv.piles[PHYS]
            say("  DNY server: pile %08x registered (ICCID %s, %d ports, fw %d)"
                % (PHYS, p.iccid, p.reg["ports"], p.reg["fw"]))
            _wait(lambda: len(p.beats) >= 2, 30, "heartbeats")
            say("  DNY server: heartbeats every 5 s, port states %s, %.1f V" % (
                p.beats[-1][1]["status"], p.beats[-1][1]["volts_dv"] / 10.0))
            with meter.lock:
                meter.plant.ports[0].plug(physics.Bike(600.0, 50000.0, 0.1, pf=0.6))
            srv.faults.update(garbage=20, slow_s=4.0)  # noise on the line, answers late
            ans = srv.start_order(PHYS, 0, mode=0, value=60)
            say("  DNY server: 0x82 order %s, 1 minute paid on port 1 -> result %d" % (ans["order"], ans["result"]))
            _wait(lambda: p.reports, 40, "a power report")
            say("  DNY server: power report %d W, %d mA" % (p.reports[-1]["now_w"], p.reports[-1]["amps_ma"]))
            got = _wait(lambda: srv.settled(ans["order"]), 150, "the settlement")
            srv.faults.update(garbage=0, slow_s=0.0)
            s = got[0]
            say("  DNY server: settlement of order %s: %d s, %.2f kWh, stop reason %d (budget), sent %d time(s), "
                "one record" % (ans["order"], s["duration_s"], s["energy_cwh"] / 100.0, s["reason"],
                                len(got)))
            say("dny: the server pushes a file that is not our signed release (0xE0 packets)")
            vendor = tmp + "/vendor.bin"  # a vendor's bare image: no container, no signed manifest
            with open(vendor, "wb") as f:
                f.write(bytes(range(256)) * 3)
            res = srv.push(PHYS, vendor, timeout=30)
            say("  DNY server: in-band update answered %02x at packet %d: refused, nothing written (the pile: %s)"
                % (res["result"], res["packet"], _wait(lambda: _line(b, "in-band update"), 20, "the refusal's log line")))
            return 0
        finally:
            b.close()
            srv.close()


def _line(b, what):
    for line in b.console_text().splitlines():
        if what in line:
            return line.split(" ", 2)[-1].strip()
    return None
