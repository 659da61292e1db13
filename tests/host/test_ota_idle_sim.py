"""An update never cuts a paying customer's session short: on the sim chip, with the real app
(charging, service port, OTA), a release found by `ota check` on the service port downloads
while port 1 charges, then waits (`ota status` says waiting_idle, the relay stays on) until
the session is stopped, then installs, reboots into the trial and confirms it healthy.
This also proves app.py hands the pile's is_idle to ota.start (idle=None would install at once).
"""
import json
import re
import time

from upile.sim import otakit
from upile.sim.board import SimBoard
from upile.sim.peers.meter import MeterPeer
from upile.sim.peers.service import ServicePeer

PINS_2P = {"relay": (25, 26), "relay_fb": (34, 35), "meter_uart": 2, "meter_tx": 17, "meter_rx": 16,
           "meter_mux": (27,), "temp_adc": (36,)}
EXTRA = {
    "pile": {"ports": 2},
    "charging": {"board": "esp32-2p"},
    "service": {"uart": 1, "baud": 115200, "tx": 4, "rx": 5},
    "modem": {"enabled": False},
    "net": {"order": "wifi"},
}
# checks only on command (first_check_s/check_s far away); short health and idle polls
OTA = {"first_check_s": 86400, "check_s": 604800, "jitter_s": 0, "health_s": 3, "idle_poll_s": 1}


T = 20  # reply timeout: generous, the sim chip shares the host with the whole test run


def kv(line):
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


def wait_for(fn, what, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("no %s within %d s" % (what, timeout))


def test_install_waits_while_a_port_charges_and_proceeds_once_idle(tmp_path):
    key, keys = otakit.dev_key(tmp_path / "key")
    ch = otakit.Channel(tmp_path / "srv")
    rel = {}
    for name, ver, counter in (("v1", "1.0.0", 1), ("v2", "2.0.0", 2)):
        tree = otakit.app_tree(tmp_path / ("tree-" + name), ver)
        rel[name] = (tree, otakit.make(tmp_path / "srv" / name, tree, ver, counter, key))
    ch.publish(tmp_path / "srv" / "v1")
    cfg = otakit.sim_config(ch.url(), OTA, extra=EXTRA)
    b = SimBoard(tmp_path / "board", heap="1M")
    try:
        b.install_files(otakit.factory_files(rel["v1"][0], tmp_path / "srv" / "v1", rel["v1"][1], keys, cfg))
        otakit.wired_link(b)
        meter, svc = MeterPeer(PINS_2P, n=2), ServicePeer()
        b.attach_uart(2, meter)
        b.attach_uart(1, svc)
        b.power_on()
        b.wait_console(r"uPile 1\.0\.0 on", timeout=30)
        b.wait_console(r"maint: port on UART1", timeout=30)
        st = kv(svc.ok("ota status", timeout=T))
        assert (st["slot"], st["active"], st["version"], st["phase"]) == ("a", "a", "1.0.0", "idle"), st

        meter.command("plug 1 250 600 0.2")  # a big battery: charges for the whole test
        sid = kv(svc.ok("start 1 money 100 app-1", timeout=T))["id"]
        svc.wait_event(r"^status 1 Charging", timeout=15)
        assert b.pin(25) == 1

        ch.publish(tmp_path / "srv" / "v2")
        assert svc.ok("ota check", timeout=T) == "check requested"
        b.wait_console(r"OTA Downloaded app v=2\.0\.0", timeout=60)
        wait_for(lambda: kv(svc.ok("ota status", timeout=T))["phase"] == "waiting_idle", "waiting_idle")
        mark = b.console_mark()
        time.sleep(4)  # several idle polls (ota.idle_poll_s = 1) while the port still charges
        assert "OTA Installing" not in b.console_text() and "uPile 2.0.0" not in b.console_text()
        assert b.pin(25) == 1 and svc.ok("info 1", timeout=T).startswith("port=1 status=Charging")
        assert "WaitingIdle" in b.console_text() and b.console_text()[mark:].count("OTA ") == 0

        bill = kv(svc.ok("stop 1", timeout=T))
        assert bill["id"] == sid and bill["cause"] == "service"  # ended by the user, not the update
        b.wait_console(r"OTA Installing app v=2\.0\.0", timeout=30)
        b.wait_console(r"uPile 2\.0\.0 on", timeout=60)
        b.wait_console(r"OTA Confirmed v=2\.0\.0 slot=b", timeout=30)
        assert b.pin(25) == 0
        text = b.console_text()
        assert re.search(r"OTA Downloaded app v=2\.0\.0(.|\n)*WaitingIdle(.|\n)*OTA Installing", text)
        assert "Traceback" not in text
        st = json.loads(b.exec("import thisboot, json\nprint(json.dumps(thisboot.read_state()))", timeout=20))
        assert st["active"] == "b" and st["pending"] is None and st["counter"] == 2
    finally:
        b.close()
        ch.close()
