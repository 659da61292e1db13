"""The sim meter peer in CPython: it decodes the relay shift register from pin edges,
follows the mux, answers with frames the firmware's own parser accepts, and reports
contact readback and NTC temperatures through the board's inputs."""
import subprocess

from mpy import device_path, micropython_bin
from upile.sim.peers.meter import MeterPeer
from upile.sim import physics

PINS = {"hc595": (13, 14, 15, 12), "relay_fb": (4, 5, 18), "meter_uart": 2, "meter_tx": 17, "meter_rx": 16,
        "meter_mux": (32, 33), "temp_adc": (36,)}


class FakeBoard:
    def __init__(self):
        self.inputs, self.adc = {}, {}

    def set_pin(self, n, level):
        self.inputs[n] = level

    def set_adc(self, n, raw):
        self.adc[n] = raw


def _shift(peer, bits16):
    d, c, l, _ = PINS["hc595"]
    for i in range(15, -1, -1):
        peer.on_pin(d, (bits16 >> i) & 1)
        peer.on_pin(c, 1)
        peer.on_pin(c, 0)
    peer.on_pin(l, 1)
    peer.on_pin(l, 0)


def test_shift_register_relays_readback_and_frames(tmp_path):
    peer = MeterPeer(PINS, n=3)
    board = FakeBoard()
    peer.attach(board, 2)
    peer.plant.ports[1].plug(physics.Bike(cc_w=250))
    _shift(peer, 0b010)
    assert [p.relay for p in peer.plant.ports] == [False, True, False]
    assert board.inputs[5] == 1 and board.inputs[4] == 0
    assert 0 < board.adc[36] < 4096
    peer.on_pin(32, 1)  # select meter 1
    out = b""
    t = 0.0
    for _ in range(40):
        t += 0.02
        out += peer.poll(t) or b""
    assert len(out) >= 24 * 5 and out[1] == 0x5A
    # the firmware's parser (under micropython) reads ~250 W from these bytes
    (tmp_path / "f.bin").write_bytes(out)
    code = ("from firmware.meter.hlw8032 import HLW8032\nm=HLW8032()\nm.feed(open('f.bin','rb').read())\n"
            "print(m.ch.seq, m.ch.p_mw)\n")
    p = subprocess.run([micropython_bin(), "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       env={"MICROPYPATH": device_path()})
    seq, p_mw = map(int, p.stdout.split())
    assert seq >= 3 and 245000 < p_mw < 255000
    peer.plant.ports[1].stuck = True
    _shift(peer, 0)
    assert board.inputs[5] == 1  # welded contact still reads closed
    assert peer.command("overload 1 2500") == "ok" and peer.plant.ports[0].extra_w == 2500
    assert peer.command("bogus 1").startswith("error")
