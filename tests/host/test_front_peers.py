"""The front's emulators on their own (tools/upile/sim/peers): each answers as its data sheet
says, corners included, so a driver that gets them wrong fails on the sim as on a board."""
from upile.sim.peers.ht16k33 import HT16K33
from upile.sim.peers.pn532 import ACK, ERROR, NACK, PN532Peer, frame
from upile.sim.peers.sc16is752 import SC16IS752
from upile.sim.peers.syn6288 import SYN6288Peer, speak_frame, xor


def host_frame(payload):
    data = b"\xd4" + payload
    n = len(data)
    return bytes((0, 0, 0xFF, n, (-n) & 0xFF)) + data + bytes(((-sum(data)) & 0xFF, 0))


class Rec:
    baud = 9600

    def __init__(self):
        self.rx = bytearray()
        self.out = bytearray()
        self.opens = []

    def attach(self, board, uid):
        pass

    def on_open(self, *a):
        self.opens.append(a)

    def on_rx(self, d):
        self.rx += d

    def poll(self, now):
        o, self.out = bytes(self.out), bytearray()
        return o or None

    def on_power(self, on):
        pass


def sub(reg, ch):
    return bytes(((reg << 3) | (ch << 1),))


def test_sc16is752_registers_reset_values_and_bursts():
    a = Rec()
    br = SC16IS752(a, None)
    assert br.xfer(sub(3, 0), 1) == b"\x1d"  # LCR resets to 6 data bits, even parity
    assert br.xfer(sub(8, 0), 1) == b"\x01"  # FIFOs off: a one-byte holding register
    assert br.xfer(sub(0, 2), 1) is None  # no channel 2 on a 752: no acknowledge
    for reg, v in ((3, 0x80), (0, 96), (1, 0), (3, 0x03), (2, 0x07)):
        br.xfer(sub(reg, 0) + bytes((v,)), 0)
    assert a.opens[-1] == (9600, 8, None, 1) and br.xfer(sub(8, 0), 1) == b"\x40"
    br.xfer(sub(0, 0) + b"hello", 0)  # one burst into THR
    assert br.xfer(sub(8, 0), 1) == bytes((64 - 5,))
    t = 0.0
    for _ in range(20):
        t += 0.002
        br.tick(t)
    assert bytes(a.rx) == b"hello"
    a.out += bytes(range(70))  # more than the RX FIFO holds before anyone reads
    for _ in range(100):
        t += 0.002
        br.tick(t)
    assert br.xfer(sub(9, 0), 1) == b"\x40"
    assert br.xfer(sub(5, 0), 2)[0] & 0x02 and not br.xfer(sub(5, 0), 1)[0] & 0x02  # overrun, cleared by reading LSR
    assert br.xfer(sub(0, 0), 64) == bytes(range(64))  # a burst read drains the FIFO in order
    br.xfer(sub(14, 0) + b"\x08", 0)  # software reset
    assert br.xfer(sub(3, 0), 1) == b"\x1d" and br.resets == 1


def test_sc16is752_wrong_baud_talks_garbage_and_gpios():
    a = Rec()
    br = SC16IS752(a, None)
    for reg, v in ((3, 0x80), (0, 8), (1, 0), (3, 0x03), (2, 0x07)):  # 115200, the peer wants 9600
        br.xfer(sub(reg, 0) + bytes((v,)), 0)
    br.xfer(sub(0, 0) + b"A" * 20, 0)
    t = 0.0
    for _ in range(20):
        t += 0.002
        br.tick(t)
    assert len(a.rx) == 20 and bytes(a.rx) != b"A" * 20
    br.xfer(sub(10, 0) + b"\x08", 0)  # GPIO3 output
    br.xfer(sub(11, 0) + b"\x08", 0)
    br.set_gpio(0, 1)
    assert br.gpio_out(3) == 1 and br.gpio_out(0) is None
    assert br.xfer(sub(11, 0), 1)[0] & 0x09 == 0x09


_now = [0.0]


def _talk(pn, data, polls=3):
    pn.on_rx(data)
    out = b""
    for _ in range(polls):
        _now[0] += 0.05
        out += pn.poll(_now[0]) or b""
    return out


def test_pn532_wakes_on_0x55_acks_answers_and_keeps_its_protocol():
    pn = PN532Peer()
    pn.on_power(True)
    assert _talk(pn, host_frame(b"\x02")) == b""  # asleep: the frame is lost
    # the frame right behind the wake-up bytes arrives while the oscillator starts: lost
    assert _talk(pn, b"\x55\x55" + bytes(14) + host_frame(b"\x02")) == b""
    pn.on_power(True)
    _talk(pn, b"\x55\x55" + bytes(14))  # a host that waits after waking it is answered
    out = _talk(pn, host_frame(b"\x02"))
    assert out == ACK + frame(b"\x03\x32\x01\x06\x07")
    bad = bytearray(host_frame(b"\x02"))
    bad[-2] ^= 1
    assert _talk(pn, bytes(bad)) == b"" and pn.bad_frames == 1  # wrong DCS: no ACK at all
    assert _talk(pn, NACK) == frame(b"\x03\x32\x01\x06\x07")  # the last answer again
    assert _talk(pn, host_frame(b"\x99")) == ACK + ERROR  # unknown command: error frame
    assert _talk(pn, host_frame(b"\x4a\x01\x00"), polls=20) == ACK  # default retries: waits for a card
    pn.present(bytes.fromhex("A1B2C3D4"))
    out = _talk(pn, b"", polls=2)
    assert out == frame(b"\x4b\x01\x01\x00\x04\x08\x04" + bytes.fromhex("A1B2C3D4"))
    pn.remove()
    _talk(pn, host_frame(b"\x32\x05\xff\x01\x01"))
    assert _talk(pn, host_frame(b"\x4a\x01\x00"), polls=5) == ACK + frame(b"\x4b\x00")  # two tries, none


def test_syn6288_answers_speaks_and_records_a_cut():
    s = SYN6288Peer(char_s=0.1)
    s.on_power(True)
    s.poll(0.0)
    assert s.poll(1.0) == b"\x4a"
    s.on_rx(speak_frame("[v5]你好"))
    assert s.poll(1.01) == b"\x41" and s.busy()
    f = bytearray(speak_frame("再见"))
    f[-1] ^= 0xFF
    s.on_rx(bytes(f))  # a damaged check byte
    assert s.poll(1.02) == b"\x45" and s.rejected == 1
    s.on_rx(b"\xfd\x00\x02\x21" + bytes((xor(b"\xfd\x00\x02\x21"),)))
    assert s.poll(1.03) == b"\x4e"
    s.on_rx(speak_frame("再见"))  # while the first still plays: it is cut
    assert s.poll(1.04) == b"\x41"
    assert [(u.text, u.volume, u.cut) for u in s.spoken] == [("你好", 5, True), ("再见", 5, False)]
    assert s.poll(2.0) == b"\x4f" and not s.busy()
    s.on_rx(b"\x00garbage")
    assert s.poll(2.1) == b"\x45"


def test_ht16k33_ram_keys_latched_until_read_and_debounced():
    h = HT16K33()
    h.xfer(b"\x21", 0)
    h.xfer(b"\x81", 0)
    h.xfer(b"\x00" + bytes((0x73, 0x01, 0x3F, 0)), 0)  # P on digit 0, LED 0 (port 1 green) lit
    assert h.digits().startswith("P0") and h.led(1) == "green"
    t = 0.0
    h.press("5")
    h.tick(t)
    t += 0.01
    h.tick(t)
    assert h.xfer(b"\x40", 6) == bytes(6)  # one scan only: not debounced yet
    t += 0.01
    h.tick(t)
    h.release("5")
    assert h.xfer(b"\x40", 6)[2] == 0x02  # pressed, released before the read: still seen once
    t += 0.01
    h.tick(t)
    assert h.xfer(b"\x40", 6) == bytes(6)  # read, and the next scan saw it up: gone
    h.xfer(b"\x20", 0)  # oscillator off: no key scan at all
    h.press("#")
    for _ in range(5):
        t += 0.01
        h.tick(t)
    assert h.xfer(b"\x40", 6) == bytes(6)
