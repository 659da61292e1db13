"""The sim pile with its front for host tests: the 2-port board (GPIO relays: the harness
sees them), the meters' peer on UART 2, the service cable on UART 1, and on the front's I2C
bus an SC16IS752 carrying the PN532 card reader (UART A) and the SYN6288 voice (UART B),
the HT16K33 panel, and the coin acceptor's line on GPIO32 (idle high: the acceptor's open
collector and the pull-up). Coins are played as the acceptor's pulse trains."""
import contextlib
import hashlib
import hmac
import json
import tempfile
import time

from upile.sim import demo_charging, flashimg
from upile.sim.board import SimBoard
from upile.sim.peers.ht16k33 import HT16K33
from upile.sim.peers.meter import MeterPeer
from upile.sim.peers.pn532 import PN532Peer
from upile.sim.peers.sc16is752 import SC16IS752
from upile.sim.peers.service import ServicePeer
from upile.sim.peers.syn6288 import SYN6288Peer

SECRET = "00112233445566778899aabbccddeeff"
COIN_PIN = 32
RELAYS = (25, 26)
CONFIG = {
    "pile": {"ports": 2, "id": "PILE-0042"},
    "charging": {"board": "esp32-2p", "full_s": 600, "noload_s": 60},
    "tariff": {"mode": "time", "unit_fen": 100, "unit_min": 60},
    "service": {"uart": 1, "baud": 115200, "tx": 4, "rx": 5},
    "modem": {"enabled": False},
    "net": {"order": "wifi"},
    "front": {"enabled": True, "lang": "zh", "quiet": "", "code_secret": SECRET},
}


def kv(line):
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


def derived_code(pile_id, port, unix, window_s=3600):
    """The code a back end gives for (pile, port, now), with CPython's own hmac."""
    msg = ("%s|%d|%d" % (pile_id, port, int(unix) // window_s)).encode()
    h = hmac.new(bytes.fromhex(SECRET), msg, hashlib.sha256).digest()
    o = h[-1] & 15
    v = ((h[o] & 0x7F) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]
    return "%06d" % (v % 1000000)


class Front:
    """The parts a test handles: board, meter, service, reader, voice, panel, bridge."""

    def __init__(self, b, meter, svc, reader, voice, panel, bridge):
        self.b, self.meter, self.svc = b, meter, svc
        self.reader, self.voice, self.panel, self.bridge = reader, voice, panel, bridge

    def wait(self, cond, timeout=20.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = cond()
            if r:
                return r
            time.sleep(0.02)
        raise TimeoutError("no %s within %.0f s" % (what, timeout))

    def said(self, text, timeout=20.0):
        """Wait until the voice module spoke an utterance containing text."""
        return self.wait(lambda: [u for u in self.voice.spoken if text in u.text], timeout, "utterance %r" % text)

    def keys(self, seq, hold=0.12, gap=0.12):
        """Type keys on the pad as a person does (each held ~0.1 s)."""
        for k in seq:
            self.panel.press(k)
            time.sleep(hold)
            self.panel.release(k)
            time.sleep(gap)

    def coin(self, pulses, width=0.05, gap=0.1):
        """One coin: the acceptor pulls its line low `pulses` times (CH-926 style trains)."""
        for _ in range(pulses):
            self.b.set_pin(COIN_PIN, 0)
            time.sleep(width)
            self.b.set_pin(COIN_PIN, 1)
            time.sleep(gap)

    def relay(self, port):
        return self.b.pin(RELAYS[port - 1])


@contextlib.contextmanager
def pile(extra=None, files=None, heap="512K", detector_works=True, board="esp32-2p", service=None):
    cfg = json.loads(json.dumps(CONFIG))
    for sec, vals in (extra or {}).items():
        cfg.setdefault(sec, {}).update(vals)
    cfg["charging"]["board"] = board
    if service:
        cfg["service"].update(service)
    with tempfile.TemporaryDirectory(prefix="upile-front-") as tmp:
        b = SimBoard(tmp, heap=heap)
        try:
            app = flashimg.app_files()
            app["/config/pile.json"] = json.dumps(cfg).encode()
            app.update(files or {})
            b.install_files(app)
            pins = demo_charging.board_pins(board)
            meter, svc = MeterPeer(pins, n=cfg["pile"]["ports"]), ServicePeer()
            reader, voice, panel = PN532Peer(), SYN6288Peer(), HT16K33()
            bridge = SC16IS752(reader, voice)
            b.attach_uart(2, meter)
            b.attach_uart(1, svc)
            b.attach_i2c(0x48, bridge)
            b.attach_i2c(0x70, panel)
            b.set_pin(pins["coin"], 1)
            for io in range(8):  # sensors normal: NC contacts closed, inputs low
                bridge.set_gpio(io, 0)
            bridge.smoke_detector(alarm_io=0, test_io=3, working=detector_works)
            b.power_on()
            f = Front(b, meter, svc, reader, voice, panel, bridge)
            f.pins = pins
            b.wait_console(r"front: card on, voice on, panel on, coins on, alarms on", timeout=60)
            yield f
        finally:
            b.close()
