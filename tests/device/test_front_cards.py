# heapsize: 512K
# M1 cards: the PN532 driver against a scripted module (frames, ACK, error frame, bad
# checksums, garbage), and what a tap means (firmware/front/cards.py) on a real pile behind
# the station: unknown card, start, a card left on the reader, another card, same-card
# stop, balance query, prepaid debit once, the back end's answer hook and its timeout.
import asyncio

from frontkit import Kit, Wire
from firmware.front.cards import Cards, uid_hex
from firmware.front.pn532 import PN532, ReaderError
from firmware.front.starts import Starts

UID = bytes((0xA1, 0xB2, 0xC3, 0xD4))
OTHER = bytes((0xDE, 0xAD, 0xBE, 0xEF))


def frame(payload):
    data = b"\xd5" + payload
    n = len(data)
    return bytes((0, 0, 0xFF, n, (-n) & 0xFF)) + data + bytes(((-sum(data)) & 0xFF, 0))


ACK = b"\x00\x00\xff\x00\xff\x00"


class FakePN532:
    """Answers like the module: ACK then the response; a card on the field or not."""

    def __init__(self, wire):
        self.w = wire
        self.card = None
        self.buf = bytearray()
        self.noise = b""  # sent before each ACK (a noisy line)
        self.error_next = False
        self.bad_dcs_next = False
        self.cmds = []
        wire.on_write = self.rx

    def rx(self, data):
        self.buf += data
        while True:
            i = self.buf.find(b"\x00\xff")
            if i < 0 or len(self.buf) < i + 4:
                return
            n = self.buf[i + 2]
            if n == 0:  # an ACK from the host (abort)
                self.buf[: i + 4] = b""
                continue
            end = i + 4 + n + 1
            if len(self.buf) < end:
                return
            body = bytes(self.buf[i + 4: i + 4 + n])
            self.buf[:end] = b""
            cmd = body[1]
            self.cmds.append(cmd)
            self.w.answer(self.noise + ACK)
            if self.error_next:
                self.error_next = False
                self.w.answer(b"\x00\x00\xff\x01\xff\x7f\x81\x00")
                continue
            if cmd == 0x02:
                r = frame(b"\x03\x32\x01\x06\x07")
            elif cmd == 0x4A:
                c = self.card
                r = frame(b"\x4b\x01\x01\x00\x04\x08" + bytes((len(c),)) + c) if c else frame(b"\x4b\x00")
            else:
                r = frame(bytes((cmd + 1,)))
            if self.bad_dcs_next:
                self.bad_dcs_next = False
                r = r[:-2] + bytes(((r[-2] + 1) & 0xFF, 0))
            self.w.answer(r)


async def test_driver_wakes_configures_and_reads_through_noise():
    w = Wire()
    m = FakePN532(w)
    r = PN532(w, ack_ms=50, answer_ms=200)
    await r.begin()
    assert w.sent[:2] == b"\x55\x55" and m.cmds == [0x14, 0x02, 0x32]
    assert r.firmware == "1.6"
    assert await r.search() is None
    m.card = UID
    m.noise = b"\x13\x37\x00\xff\xfe"  # garbage with a false start code before every ACK
    assert await r.search() == (UID, 0x08)
    assert r.garbage > 0
    m.noise = b""
    m.error_next = True
    try:
        await r.search()
        assert False, "the error frame was taken for an answer"
    except ReaderError as e:
        assert e.args[0] == "error_frame"
    m.bad_dcs_next = True  # a damaged answer is never a card number: timeout, then abort
    try:
        await r.search()
        assert False
    except ReaderError as e:
        assert e.args[0] == "timeout"
    assert await r.search() == (UID, 0x08)


async def test_a_silent_reader_is_an_error_not_a_hang():
    r = PN532(Wire(), ack_ms=30, answer_ms=50)
    try:
        await r.begin()
        assert False
    except ReaderError as e:
        assert e.args[0] == "no_ack"


def _kit(check="local", **kw):
    k = Kit(tariff__unit_min=1)  # 1 yuan a minute
    k.cfg["front"]["card_check"] = check
    with open(k.path("cards.txt"), "w") as f:
        f.write("# uid kind amount [balance lastsession]\n%s time 30\n%s money 800 1000 0\n" % (uid_hex(UID), uid_hex(OTHER)))
    clock = [0]
    st = Starts(k.station, k.bus)
    c = Cards(k.cfg, st, k.bus, clock=lambda: clock[0], path=k.path("cards.txt"), **kw)
    return k, c, clock


async def test_taps_start_repeat_refuse_stop_and_balance():
    k, c, clock = _kit(repeat_ms=3000)
    k.plug(1, cc_w=200)
    assert await c.tap(bytes((1, 2, 3, 4)), 1) == "refused"
    assert k.says()[-1] == ("refused", 1, "unknown_card", None)
    assert await c.tap(bytes(7), 1) == "unsupported"  # a 7-byte UID card: not an M1 card
    clock[0] = 10000
    assert await c.tap(UID, 1) == "started"
    info = k.station.port(1)
    assert info["method"] == "card" and info["id_tag"] == "A1B2C3D4" and info["kind"] == "time" and info["amount"] == 30
    k.rig.run(2)
    clock[0] += 300  # still on the reader: the same tap, nothing happens
    assert await c.tap(UID, 1) == "repeat"
    clock[0] += 2900
    assert await c.tap(UID, 1) == "repeat"  # last seen 2.9 s ago: still one tap
    assert k.station.port(1)["id"] == info["id"]
    clock[0] += 5000
    assert await c.tap(OTHER, 1) == "refused"  # another card on a running port
    assert k.says()[-1] == ("refused", 1, "not_your_session", None)
    assert await c.tap(UID, None) == "balance"  # no port chosen: a balance query
    assert ("card_busy", 1, None, None) in k.says() and k.station.port(1)["id"] == info["id"]
    clock[0] += 5000
    assert await c.tap(UID, 1) == "stopped"
    bill = k.rig.bills(1)[-1]
    assert bill["cause"] == "card" and bill["reason"] == "Local" and bill["id_tag"] == "A1B2C3D4"
    assert c.taps == 6 and c.repeats == 2


async def test_a_prepaid_card_starts_on_its_balance_and_is_debited_once():
    k, c, clock = _kit()
    k.plug(2, cc_w=300)
    assert await c.tap(OTHER, 2) == "started"
    info = k.station.port(2)
    assert (info["kind"], info["amount"]) == ("money", 800)  # min(balance, the list's amount)
    k.rig.run(150)
    bill = k.station.stop(2)
    assert 100 <= bill["fen"] <= 300, bill
    assert c.debit(bill) and not c.debit(bill)  # the same bill twice: one debit
    assert c.lookup("DEADBEEF")[3] == 1000 - bill["fen"]
    assert c.lookup("A1B2C3D4")[1:3] == ["time", 30]  # the other lines kept as they were


async def test_the_back_end_answers_a_tap_or_the_local_list_decides():
    k, c, clock = _kit(check="backend", answer_ms=300)

    class Hub:  # what firmware/front/core.py's Front gives the station
        def card_answer(self, *a):
            return c.answer(*a)

    k.station.attach(front=Hub())
    asks = k.bus.subscribe("card.ask")
    k.plug(1, cc_w=200)

    async def backend(accept):
        ev = await asks.get()
        d = ev.data
        assert d["id_tag"] == "A1B2C3D4" and d["port"] == 1 and d["purpose"] == "start"
        assert k.station.card_answer(d["req"], accept, "money", 300, 5000, None if accept else "blocked")

    b = asyncio.create_task(backend(False))
    assert await c.tap(UID, 1) == "refused"
    await b
    assert k.says()[-1] == ("refused", 1, "blocked", None)  # the back end's own reason
    clock[0] += 10000
    b = asyncio.create_task(backend(True))
    assert await c.tap(UID, 1) == "started"
    await b
    assert (k.station.port(1)["kind"], k.station.port(1)["amount"]) == ("money", 300)
    k.station.stop(1)
    k.rig.run(2)
    clock[0] += 10000
    assert await c.tap(UID, 1) == "started"  # nobody answers (offline): the local list decides
    assert (k.station.port(1)["kind"], k.station.port(1)["amount"]) == ("time", 30)
    assert not k.station.card_answer(999, True)  # too late / never asked
