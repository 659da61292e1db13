"""The sim meter peer in CPython: it decodes the relay shift register from pin edges,
follows the mux, sends what the metering ICs send (no load and no mains included) with
their timing, and reports contact readback and NTC temperatures through the board's
inputs. Its bytes are parsed by the firmware's own parsers under `micropython`, and the
peer is driven with explicit times so every race replays exactly."""
import json
import subprocess

from mpy import device_path, micropython_bin
from upile.sim.peers.meter import MeterPeer
from upile.sim import physics

PINS = {"hc595": (13, 14, 15, 12), "relay_fb": (4, 5, 18), "meter_uart": 2, "meter_tx": 17, "meter_rx": 16,
        "meter_mux": (32, 33), "temp_adc": (36,)}
PINS_2P = {"relay": (25, 26), "relay_fb": (34, 35), "meter_uart": 2, "meter_tx": 17, "meter_rx": 16,
           "meter_mux": (27,), "temp_adc": (36,)}
TICK = 0.005  # the harness polls peers every 5 ms
CFG = {"hlw_kv_milli": 1880, "hlw_ki_milli": 1000, "bl_v_ref": 15873, "bl_i_ref": 251213, "bl_p_ref": 596,
       "bl_e_ref": 3305}

_PARSE = """
import sys, json
from firmware.meter import make
chip = sys.argv[1]
m = make(chip, json.loads(sys.argv[2]))
f = open('chunks.bin', 'rb')
out = []
while True:
    h = f.read(2)
    if len(h) < 2:
        break
    n = h[0] | h[1] << 8
    m.feed(f.read(n))
    out.append([[c.seq, c.p_mw, c.i_ma, c.v_mv, c.pulses] for c in m.channels()])
print(repr(out).replace("(", "[").replace(")", "]"))
"""


def parse(tmp_path, chip, chunks):
    """Feed the chunks to the firmware's parser under micropython: per chunk, per channel
    [seq, p_mw, i_ma, v_mv, pulses] after it."""
    blob = b"".join(bytes((len(c) & 0xFF, len(c) >> 8)) + c for c in chunks)
    (tmp_path / "chunks.bin").write_bytes(blob)
    (tmp_path / "parse.py").write_text(_PARSE)
    p = subprocess.run([micropython_bin(), "parse.py", chip, json.dumps(CFG)], cwd=tmp_path, capture_output=True, text=True,
                       env={"MICROPYPATH": device_path()}, timeout=60)
    assert p.returncode == 0, p.stderr + p.stdout
    return json.loads(p.stdout)


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


class Run:
    """Drives a peer tick by tick on a clock of its own; each poll's bytes kept apart."""

    def __init__(self, peer):
        self.peer, self.t, self.chunks, self.times = peer, 0.0, [], []

    def step(self, seconds, request=None, every=None):
        end = self.t + seconds
        next_req = self.t
        while self.t < end - 1e-9:
            self.t += TICK
            if request and self.t >= next_req:
                self.peer.on_rx(request)
                next_req = self.t + every
            out = self.peer.poll(self.t)
            if out:
                self.chunks.append(out)
                self.times.append(self.t)


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
    run = Run(peer)
    run.step(0.8)
    out = b"".join(run.chunks)
    assert len(out) >= 24 * 10
    assert out[1] != 0x5A  # the mux opened inside the chip's frame: its tail comes first
    seq, p_mw = parse(tmp_path, "hlw8032", [out])[-1][0][:2]
    assert seq >= 8 and 245000 < p_mw < 255000
    peer.plant.ports[1].stuck = True
    _shift(peer, 0)
    assert board.inputs[5] == 1  # welded contact still reads closed
    assert peer.command("overload 1 2500") == "ok" and peer.plant.ports[0].extra_w == 2500
    assert peer.command("bogus 1").startswith("error")


def test_hlw8032_with_nothing_to_measure_sends_good_frames_of_zero(tmp_path):
    peer = MeterPeer(PINS_2P, n=2)
    peer.attach(FakeBoard(), 2)
    run = Run(peer)
    run.step(0.6)  # mains on, nothing plugged
    peer.command("mains 0")  # no mains on the voltage input
    run.step(0.6)
    out = b"".join(run.chunks)
    starts = [i for i in range(len(out) - 23) if out[i + 1] == 0x5A and out[i] in (0xF2, 0xFA)]
    assert {out[i] for i in starts} == {0xF2, 0xFA}
    assert {out[i + 20] for i in starts} == {0x61, 0x01}  # data-update: V+I refreshed / none
    res = parse(tmp_path, "hlw8032", run.chunks)
    half = len([t for t in run.times if t <= 0.6])
    seq1, p1, i1, v1, _ = res[half - 1][0]
    seq2, p2, i2, v2, e2 = res[-1][0]
    assert seq1 >= 5 and p1 == 0 and 0 < i1 < 100 and 219000 < v1 < 221000
    assert seq2 >= seq1 + 5 and p2 == i2 == v2 == e2 == 0


def test_bl09xx_answer_requests_with_creep_frames_that_parse(tmp_path):
    for chip, req, n in (("bl0942", b"\x58\xaa", 2), ("bl0939", b"\x55\xaa", 2)):
        peer = MeterPeer(PINS_2P, n=n, chip=chip, meter_cfg=CFG)
        peer.attach(FakeBoard(), 2)
        peer.on_open(4800, 8, None, 1)
        peer.plant.ports[1].plug(physics.Bike(cc_w=300))
        peer.plant.ports[1].relay = True
        if chip == "bl0942":
            peer.on_pin(27, 1)  # meter 1 (a BL0939 meters both ports on one chip)
        run = Run(peer)
        run.step(2.0, request=req, every=0.2)
        res = parse(tmp_path, chip, run.chunks)[-1]
        loaded = res[1] if chip == "bl0939" else res[0]
        assert loaded[0] >= 5 and 295000 < loaded[1] < 305000, (chip, res)
        if chip == "bl0939":
            idle = res[0]
            assert idle[0] == loaded[0] and idle[1] == 0 and idle[2] == 0 and idle[4] == 0  # creep: all 0


def test_a_frame_measured_before_the_relay_opens_arrives_after(tmp_path):
    # the race behind false weld alarms, replayed exactly: an HLW8032 frame starts while
    # the relay is closed, the relay opens 10 ms later, the frame's last byte lands 45 ms
    # after that and says 300 W (hold_s=0: the chip's 5 s no-load delay is another story)
    peer = MeterPeer(PINS_2P, n=2, hold_s=0)
    peer.attach(FakeBoard(), 2)
    peer.plant.ports[0].plug(physics.Bike(cc_w=300))
    peer.on_pin(25, 1)
    run = Run(peer)
    run.step(0.5)
    while peer._pending:  # let the frame on the wire finish: the next poll starts a new one
        run.step(TICK)
    run.step(TICK)
    t_measured, k, watts = peer.sent[-1]
    assert t_measured == run.t and k == 0 and watts[0] == 300.0
    n_before = len(run.chunks)
    run.step(0.01)
    peer.on_pin(25, 0)  # relay off
    t_edge = run.t
    assert peer.plant.ports[0].relay is False
    run.step(0.3)
    res = parse(tmp_path, "hlw8032", run.chunks)
    seq_at_edge = res[n_before][0][0]
    after = [(run.times[i], r[0]) for i, r in enumerate(res) if run.times[i] > t_edge]
    first = next(r for t, r in after if r[0] > seq_at_edge)
    assert 295000 < first[1] < 305000  # the pre-edge measurement, read after the edge
    assert after[-1][1][1] == 0  # later frames: no load (the chip flags the power overflow)


def test_bl0942_reports_the_window_average_across_a_relay_edge(tmp_path):
    peer = MeterPeer(PINS_2P, n=2, chip="bl0942", meter_cfg=CFG)
    peer.attach(FakeBoard(), 2)
    peer.on_open(4800, 8, None, 1)
    peer.plant.ports[0].plug(physics.Bike(cc_w=400))
    peer.plant.ports[0].relay = True
    run = Run(peer)
    run.step(1.0)  # the registers refresh every 400 ms from the first poll: 0.805, 1.205, ...
    peer.plant.ports[0].relay = False  # mid-window
    seen = []
    for _ in range(8):
        peer.on_rx(b"\x58\xaa")
        run.step(0.1)
        seen.append(peer.sent[-1][2][0])
    assert abs(seen[0] - 400.0) < 1e-6  # requested after the edge: the last full window
    assert any(100 < w < 300 for w in seen)  # the window the edge fell into: part load
    assert seen[-1] == 0.0
    res = parse(tmp_path, "bl0942", run.chunks)
    assert res[-1][0][1] == 0 and max(r[0][1] for r in res) > 395000


def test_welded_relay_keeps_power_flowing_and_readback_shows_the_chosen_side():
    peer = MeterPeer(PINS_2P, n=2)
    board = FakeBoard()
    peer.attach(board, 2)
    peer.plant.ports[0].plug(physics.Bike(cc_w=300))
    run = Run(peer)
    run.step(TICK)
    peer.on_pin(25, 1)
    run.step(1.0)
    assert peer.command("stuck 1 1") == "ok"
    peer.on_pin(25, 0)  # the coil lets go, the welded contacts do not
    run.step(1.0)
    port = peer.plant.ports[0]
    assert port.relay is False and port.p_w == 300.0 and board.inputs[34] == 1
    assert abs(port.open_wh - 300.0 / 3600) < 1e-6  # metered energy with the relay commanded open
    assert peer.command("readback 1 coil") == "ok"
    run.step(TICK)
    assert board.inputs[34] == 0  # a coil-side readback echoes the command: it cannot see a weld
    assert peer.command("readback 1 sideways").startswith("error")
    led = peer.ledger(0)
    assert len(led) == 1 and led[0]["t_off"] is not None and abs(led[0]["wh"] - 300.0 / 3600) < 1e-6


def test_ledger_gives_the_energy_the_meter_counted_per_closed_interval(tmp_path):
    peer = MeterPeer(PINS_2P, n=2)
    peer.attach(FakeBoard(), 2)
    peer.plant.ports[0].plug(physics.Bike(cc_w=350))
    run = Run(peer)
    run.step(0.5)  # the parser arms on idle frames first
    for on_s, off_s in ((4.0, 1.0), (6.0, 1.0)):
        peer.on_pin(25, 1)
        run.step(on_s)
        peer.on_pin(25, 0)
        run.step(off_s)
    led = peer.ledger(0)
    assert [round(r["t_off"] - r["t_on"], 6) for r in led] == [4.0, 6.0]
    for r, secs in zip(led, (4.0, 6.0)):
        assert abs(r["wh"] - 350.0 * secs / 3600) < 1e-9 and r["metered_wh"] == r["wh"]
    # what the firmware's parser counted is exactly the chip's counter advance in the ledger
    pulses = parse(tmp_path, "hlw8032", run.chunks)[-1][0][4]
    assert pulses == sum(r["pulses"] for r in led) and pulses > 0
