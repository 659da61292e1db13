"""`make sim` scene: the pile rides through a Wi-Fi outage on cellular and comes back.

Runs on a board of its own (the OTA story's board keeps a wired link up, which would hide
the outage): Wi-Fi access point "depot", the 4G modem emulator on UART 1, a backend on
loopback that the link manager probes. Raises TimeoutError when a step does not happen.
"""
import json
import re
import tempfile
import threading
import time

from upile.sim import flashimg
from upile.sim.backend import probe_backend
from upile.sim.board import SimBoard
from upile.sim.peers.modem import ModemPeer

_SHOW = re.compile(r"\b[IWE] (link|modem|wifi): .*")


def _follow(board, say, stop):
    seen = 0
    while not stop.is_set():
        text = board.console_text()
        new, seen = text[seen:], len(text)
        for line in new.splitlines():
            m = _SHOW.search(line)
            if m:
                say("  chip: " + m.group(0))
        time.sleep(0.1)


def run(board, say):
    srv, hits = probe_backend()
    cfg = {"wifi": {"networks": [{"ssid": "depot", "key": "secret-123"}]},
           "backend": {"host": "127.0.0.1", "port": srv.getsockname()[1]},
           "modem": {"apn": "cmnet"}, "net": {"ntp_host": "", "failback_ms": 8000}}
    stop = threading.Event()
    with tempfile.TemporaryDirectory(prefix="upile-demo-net-") as tmp:
        b = SimBoard(tmp)
        try:
            files = flashimg.app_files()
            files["/config/pile.json"] = json.dumps(cfg).encode()
            b.install_files(files)
            modem = ModemPeer(vendor="quectel", ready_s=2.0)
            b.attach_uart(1, modem)
            b.net.add_ap("depot", "secret-123", rssi=-58)
            threading.Thread(target=_follow, args=(b, say, stop), daemon=True).start()
            say("net: second pile with Wi-Fi 'depot' and a 4G module (emulated EC200U) powering on")
            b.power_on()
            b.wait_console(r"link: up on wifi", timeout=60)
            time.sleep(1)
            say("net: Wi-Fi access point goes out of range")
            mark = b.console_mark()
            t0 = time.monotonic()
            b.net.drop("depot")
            b.wait_console(r"link: up on cellular", timeout=90, since=mark)
            reach = min([t for t in hits if t > t0] or [time.monotonic()]) - t0
            say("net: backend reachable over cellular %.1f s after the Wi-Fi loss" % reach)
            time.sleep(2)
            say("net: the carrier drops (NO CARRIER); the driver redials")
            mark = b.console_mark()
            modem.fault("drop_carrier")
            b.wait_console(r"link: up on cellular", timeout=60, since=mark)
            say("net: Wi-Fi is back; fail-back once it has been stable 8 s")
            mark = b.console_mark()
            t1 = time.monotonic()
            b.net.restore("depot")
            b.wait_console(r"link: up on wifi", timeout=90, since=mark)
            back = time.monotonic() - t1
            deadline = time.monotonic() + 10
            while modem.state()["commands"][-1:] != ["ATH"] and time.monotonic() < deadline:
                time.sleep(0.1)
            say("net: back on Wi-Fi after %.1f s; cellular hung up: %s" % (back, not modem.data_mode))
        finally:
            stop.set()
            b.close()
            srv.close()
