"""`make sim` scene: the person at the pile (docs/front.md).

A board of its own with the front on its I2C bus (SC16IS752 bridge carrying the PN532 card
reader and the SYN6288 voice, the HT16K33 display and keypad) and the coin acceptor's line:
someone chooses port 1 on the keypad and taps a registered card; another drops two coins and
starts port 2; a heater is plugged into port 2 next time and stopped as not a charger; smoke
stops every port. What the voice says and the display shows is printed as the parts saw it.
Raises TimeoutError when a step does not happen.
"""
import json
import tempfile
import time

from upile.sim import demo_charging, flashimg
from upile.sim.board import SimBoard
from upile.sim.peers.ht16k33 import HT16K33
from upile.sim.peers.meter import MeterPeer
from upile.sim.peers.pn532 import PN532Peer
from upile.sim.peers.sc16is752 import SC16IS752
from upile.sim.peers.syn6288 import SYN6288Peer

COIN_PIN = 32
CARD = bytes.fromhex("A1B2C3D4")
CONFIG = {"pile": {"ports": 2, "id": "PILE-0042"},
          "charging": {"board": "esp32-2p", "noload_s": 60},
          "tariff": {"mode": "time", "unit_fen": 100, "unit_min": 60},
          "modem": {"enabled": False}, "net": {"order": "wifi"},
          "front": {"enabled": True, "lang": "zh", "quiet": ""}}


class _Scene:
    def __init__(self, b, voice, panel, say):
        self.b, self.voice, self.panel, self.say = b, voice, panel, say
        self.heard = 0

    def wait(self, cond, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r = cond()
            if r:
                return r
            time.sleep(0.02)
        raise TimeoutError("front scene: no %s within %d s" % (what, timeout))

    def said(self, text, timeout=30):
        """Wait for an utterance containing text; print every utterance up to it."""
        def spoken():
            for i in range(self.heard, len(self.voice.spoken)):
                if text in self.voice.spoken[i].text:
                    return i + 1
            return None

        n = self.wait(spoken, timeout, "voice %r" % text)
        for u in self.voice.spoken[self.heard:n]:
            self.say("  voice: %s" % u.text)
        self.heard = n

    def keys(self, seq):
        for k in seq:  # held ~0.1 s each, as a finger does
            self.panel.press(k)
            time.sleep(0.12)
            self.panel.release(k)
            time.sleep(0.12)

    def coin(self, pulses):
        for _ in range(pulses):  # the acceptor pulls its open-collector line low per pulse
            self.b.set_pin(COIN_PIN, 0)
            time.sleep(0.05)
            self.b.set_pin(COIN_PIN, 1)
            time.sleep(0.1)


def run(board, say):
    with tempfile.TemporaryDirectory(prefix="upile-demo-front-") as tmp:
        b = SimBoard(tmp, heap="1M")
        try:
            files = flashimg.app_files()
            files["/config/pile.json"] = json.dumps(CONFIG).encode()
            files["/data/front/cards.txt"] = b"A1B2C3D4 time 60\n"
            b.install_files(files)
            pins = demo_charging.board_pins("esp32-2p")
            meter = MeterPeer(pins, n=2, hold_s=0)
            reader, voice, panel = PN532Peer(), SYN6288Peer(), HT16K33()
            bridge = SC16IS752(reader, voice)
            b.attach_uart(2, meter)
            b.attach_i2c(0x48, bridge)
            b.attach_i2c(0x70, panel)
            b.set_pin(pins["coin"], 1)
            for io in range(8):
                bridge.set_gpio(io, 0)  # sensors normal
            bridge.smoke_detector(alarm_io=0, test_io=3)
            say("front: a pile with a card reader, voice, display, keypad and coin acceptor powers on")
            b.power_on()
            s = _Scene(b, voice, panel, say)
            relay = lambda n: b.pin(pins["relay"][n - 1])  # noqa: E731
            s.wait(lambda: "0042" in panel.digits(), 60, "the pile number on the display")
            say("  display: %s" % panel.digits())
            meter.command("plug 1 200 480 0.3")
            say("front: port 1 on the keypad, then a registered card")
            s.keys("1#")
            reader.tap(CARD)
            s.wait(lambda: relay(1) == 1, 20, "port 1's relay")
            s.said("开始充电")
            say("  display: %s, port 1 LED %s" % (panel.digits(), panel.led(1)))
            say("front: two coins (3 + 2 yuan) and port 2")
            meter.command("heater 2 800")  # what is plugged in there is a heater
            s.coin(3)
            s.coin(2)
            s.said("已投币5.00元")
            s.keys("2#")
            s.keys("#")
            s.wait(lambda: relay(2) == 1, 20, "port 2's relay")
            s.said("预付5.00元")
            meter.command("grid 7")  # the mains moves as in a building: a heater follows it
            say("front: port 2 draws 800 W, power factor 1, following the mains voltage")
            s.wait(lambda: relay(2) == 0, 150, "the heater stopped")
            s.said("非电动车充电器", 30)
            say("front: smoke in the cabinet")
            bridge.smoke_on = True
            s.wait(lambda: relay(1) == 0, 20, "every relay open")
            s.said("烟雾报警")
            bridge.smoke_on = False
            s.said("报警解除", 40)
            say("front: the card, the coins, the heater and the smoke each did what the person and "
                "the operator expect; nothing was left charging")
            return 0
        finally:
            b.close()
