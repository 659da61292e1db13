"""Set-up shared by the DNY tests on the sim board: a 2-port pile whose only link is the 4G
module (the AT modem peer with PPP on UART 1), meters on UART 2, talking DNY to `upile
dny-server` on loopback; helpers to read its console."""
import json
import re
import time

from upile import dnyproto as P
from upile.sim import demo_charging, flashimg, otakit
from upile.sim.board import SimBoard
from upile.sim.peers.meter import MeterPeer
from upile.sim.peers.modem import ModemPeer

NUMBER = 13544000
PHYS = P.phys_of(0x04, NUMBER)  # a 2-port pile: class 04
ICCID = "898604D9162390488297"  # the modem peer's SIM (China Mobile IoT cards carry hex letters)
# money: 1 fen per second of charging (time tariff), so the server's sum of a settlement's
# seconds is the pile's own bill
TARIFF = {"mode": "time", "unit_fen": 60, "unit_min": 1}


def config(port, **dny):
    d = {"number": NUMBER, "heartbeat_s": 5, "answer_ms": 3000, "gap_ms": 50, "retry_s": 5, "time_s": 600,
         "host_s": 600, "report_s": 5, "settle_delay_ms": 2000, "settle_retry_s": 10, "settle_next_s": 1,
         "backoff_min_ms": 500, "backoff_max_ms": 4000, "connect_timeout_ms": 5000}
    d.update(dny)
    return {"pile": {"ports": 2, "product": otakit.PRODUCT},
            "charging": {"board": "esp32-2p", "noload_s": 60, "full_min_s": 600, "sample_s": 5, "checkpoint_s": 5,
                         "resume_load_s": 30},
            "tariff": TARIFF,
            "net": {"order": "cellular", "ntp_host": ""},
            "modem": {"apn": "cmnet", "model": "ec200"},
            "backend": {"host": "127.0.0.1", "port": port, "protocol": "dny"},
            "dny": d}


class Pile:
    """A sim pile over cellular; `files` replaces the app tree (an OTA factory pile)."""

    def __init__(self, work, port, files=None, heap="512K", charging=None, **dny):
        self.board = SimBoard(work, heap=heap)
        cfg = config(port, **dny)
        cfg["charging"].update(charging or {})
        if files is None:
            files = flashimg.app_files()
            files["/config/pile.json"] = json.dumps(cfg).encode()
        self.cfg = cfg
        self.board.install_files(files)
        self.modem = ModemPeer(vendor="quectel", ready_s=0.5, iccid=ICCID)
        self.board.attach_uart(1, self.modem)
        self.meter = MeterPeer(demo_charging.board_pins("esp32-2p"), n=2)
        self.board.attach_uart(2, self.meter)
        self.history = ""  # console text of the boots before this one (a power-on clears the console)

    def cut(self):
        """A power cut at this instant; what that boot printed is kept in history."""
        self.board.power_cut()
        self.history += self.board.console_text()

    def all_text(self):
        return self.history + self.board.console_text()

    def text(self):
        return self.board.console_text()

    def wait(self, pattern, timeout=60, start=0):
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = rx.search(self.text(), start)
            if m:
                return m
            time.sleep(0.05)
        raise AssertionError("no %r within %d s; console tail:\n%s" % (pattern, timeout, self.text()[-3000:]))

    def plug(self, port, watts=600.0, pf=0.6):
        """A bike that draws `watts` for a long time (a big battery, nearly empty)."""
        from upile.sim import physics

        with self.meter.lock:
            self.meter.plant.ports[port - 1].plug(physics.Bike(watts, 50000.0, 0.1, pf=pf))

    def bills(self):
        """{order hex: (session id, mWh, fen, seconds)} from the pile's settle log lines."""
        out = {}
        for m in re.finditer(r"settle id=(\d+) order=([0-9a-f]{32}) port=\d+ mwh=(\d+) fen=(\d+) s=(\d+)", self.all_text()):
            out[m.group(2)] = (int(m.group(1)), int(m.group(3)), int(m.group(4)), int(m.group(5)))
        return out

    def close(self):
        self.board.close()


def until(cond, timeout=60, step=0.05, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("%s not met within %d s" % (what, timeout))
