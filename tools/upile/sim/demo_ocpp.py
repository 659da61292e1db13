"""`make sim` scene: the pile and its back end over OCPP 1.6J.

A board of its own (Wi-Fi "depot", the 4G modem emulator on UART 1, meters on UART 2, two
ports) talks to the bench CSMS (tools/upile/csms): the boot accepted with the firmware
version, a remote start with a prepaid budget (DataTransfer + RemoteStartTransaction),
meter values every 2 s, a Wi-Fi outage whose queued messages arrive over 4G, and the stop
with its bill. The CSMS's side is printed as it sees it. Raises TimeoutError when a step
does not happen.
"""
import json
import tempfile
import threading
import time

from upile.csms import Csms
from upile.csms.show import follow
from upile.sim import demo_charging, flashimg
from upile.sim.board import SimBoard
from upile.sim.peers.meter import MeterPeer
from upile.sim.peers.modem import ModemPeer

CP = "PILE-DEMO"


def wait(pred, timeout, what):
    """pred()'s first true value, polled until `timeout` s; TimeoutError after (demo_ocpp_ops uses it too)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = pred()
        if r:
            return r
        time.sleep(0.05)
    raise TimeoutError("ocpp scene: no %s within %d s" % (what, timeout))


def run(board, say):
    stop = threading.Event()
    with Csms() as c, tempfile.TemporaryDirectory(prefix="upile-demo-ocpp-") as tmp:
        b = SimBoard(tmp, heap="1M")
        try:
            meter = MeterPeer(demo_charging.board_pins("esp32-2p"), n=2, hold_s=0)
            b.attach_uart(2, meter)
            modem = ModemPeer(vendor="quectel", ready_s=1.0)
            b.attach_uart(1, modem)
            cfg = {"pile": {"id": CP, "ports": 2}, "charging": {"board": "esp32-2p", "sample_s": 2},
                   "tariff": {"mode": "time", "unit_fen": 100, "unit_min": 1},
                   "wifi": {"networks": [{"ssid": "depot", "key": "secret-123"}]}, "modem": {"apn": "cmnet"},
                   "net": {"ntp_host": "", "failback_ms": 600000},
                   "backend": {"host": "127.0.0.1", "port": c.port, "protocol": "ocpp"}, "ocpp": {"url": c.url, "sampled_data": "Energy.Active.Import.Register,Power.Active.Import"}}
            files = flashimg.app_files()
            files["/config/pile.json"] = json.dumps(cfg).encode()
            b.install_files(files)
            b.net.add_ap("depot", "secret-123", rssi=-58)
            follow(c, say, stop)
            say("ocpp: a third pile (Wi-Fi + 4G) points at the bench CSMS %s" % c.url)
            b.power_on()
            p = c.wait_pile(CP, 60)
            wait(lambda: len(p.status) >= 3, 20, "statuses")
            meter.command("plug 1 300 800 0.3")
            say("ocpp: the app pays 20 fen for port 1: DataTransfer budget + RemoteStartTransaction -> %s"
                % c.start(CP, 1, "app-3001", "money", 20, ref="order-3001"))
            txid = wait(lambda: max(p.tx) if p.tx else None, 30, "the transaction")
            wait(lambda: len(p.tx[txid]["values"]) >= 2, 30, "meter values")
            say("ocpp: the Wi-Fi access point goes out of range")
            conns = p.connections
            b.net.drop("depot")
            wait(lambda: not p.connected, 30, "the connection to end")
            n = len(p.tx[txid]["values"])
            wait(lambda: p.connected and p.connections > conns, 90, "the pile back over 4G")
            say("ocpp: back over 4G (the modem's data link); queued meter values follow")
            wait(lambda: len(p.tx[txid]["values"]) > n + 1, 30, "the queued meter values")
            stop_ = wait(lambda: p.tx[txid]["stop"], 60, "the stop (the budget used up)")
            time.sleep(0.5)
            start = p.tx[txid]["start"]
            vals = p.tx[txid]["values"]
            ts = [v["meterValue"][0]["timestamp"] for v in vals]
            say("ocpp: bill of transaction %d: %d Wh (meter %d -> %d Wh), stopped %s when the 20 fen were used; "
                "%d meter values, in order: %s" % (txid, stop_["meterStop"] - start["meterStart"], start["meterStart"],
                                                   stop_["meterStop"], stop_.get("reason", "Local"), len(vals),
                                                   ts == sorted(ts)))
            return 0
        finally:
            stop.set()
            b.close()
