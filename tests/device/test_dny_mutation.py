# heapsize: 1024K
# timeout: 600
# Every single-byte change of a published DNY frame (dnyvectors.py) is rejected by the pile's
# parser or parsed to the same meaning (what its receiver reads: parse by length, extra bytes
# ignored), and the frame behind it still comes through; never a crash. Then the commands
# themselves: every server request of the guides and captures, mutated in every data byte,
# cut at every length and padded, goes through the real client's handlers (over the real
# Station and Pile) and each gets its answer frame; nothing escapes.
import asyncio

from dnyfake import until  # noqa: F401 (the pile helpers need the fake's module on the path)
from dnypile import Pile
from dnyvectors import CAPTURED, VENDOR, frame_bytes
from firmware.proto.dny import frame

# bytes of a frame's data its receiver reads (parse by length: the rest is ignored);
# answers are named "answer" in dnyvectors
_REQ = {0x81: 0, 0x87: 0, 0x88: 0, 0xE4: 0, 0x12: 0, 0x22: 0, 0x8D: 1, 0x8A: 4, 0x85: 8, 0x83: 11, 0x86: 13,
        0x84: 23, 0x82: 38, 0x34: 50}
_ANS = {0x22: 4, 0x12: 4, 0x02: 11, 0x82: 20}
FULL = ("V:414 03 settlement", "V:611 82 start", "V:653 8A change", "V:772 87 reboot", "V:730 85 limits",
        "C 82 start, 37 bytes", "H:352 34 new server", "V:502 06 power report")


def _meaning(name, f):
    phys, mid, cmd, data = f
    n = (_ANS.get(cmd, 1) if "answer" in name else _REQ.get(cmd, len(data)))
    return phys, mid, cmd, bytes(data[:n])


def _frames(p):
    out = []
    while True:
        f = p.next()
        if f is None:
            return out
        out.append((f[0], f[1], f[2], bytes(f[3])))


def _check(name, b, orig, i, v, p):
    m = bytearray(b)
    m[i] = v
    p.n = p.i = 0
    p.push(bytes(m) + b)
    got = _frames(p)
    while p.pending():  # a damaged length waits for bytes that never come: given up
        p.stale()
        got += _frames(p)
    want = _meaning(name, orig)
    for f in got:
        assert _meaning(name, f) == want, (name, i, v, f)
    assert got, (name, i, v)  # the good frame behind it (or the change itself, meaning the same)


def test_every_single_byte_change_is_rejected_or_means_the_same():
    p = frame.Parser()
    n = 0
    for name, h in VENDOR + CAPTURED:
        b = frame_bytes(h)
        p.n = p.i = 0
        p.push(b)
        orig = _frames(p)[0]
        full = name in FULL
        for i in range(len(b)):
            values = range(256) if full else [b[i] ^ (1 << k) for k in range(8)] + [0, 0xFF, 0x44]
            for v in values:
                if v != b[i]:
                    _check(name, b, orig, i, v, p)
                    n += 1
    assert n > 40000, n


def _requests():
    for name, h in VENDOR + CAPTURED:
        b = frame_bytes(h)
        if "answer" in name or b[11] not in _REQ or b[11] in (0x87, 0x12, 0x22):
            continue  # server requests only (a reboot would only be asked of the station)
        yield name, b[11], b[12:-2]
    yield "83 params", 0x83, bytes((3, 0, 10, 0, 20, 8, 7, 16, 14, 180, 0))
    yield "84 params", 0x84, bytes(23)
    yield "E0 packet", 0xE0, bytes((3, 0, 1, 0)) + b"UPR1" + bytes(196)
    yield "90 read", 0x90, b""
    yield "8B eeprom", 0x8B, b"\x00\x00\x10"


async def test_every_mutated_request_gets_its_answer_and_nothing_escapes():
    srv = type("S", (), {"port": 1})()
    p = Pile(srv, n=2, answer_ms=50)
    p.tasks[0].cancel()  # no connection: frames go straight into the handlers
    cli = p.cli
    sent = [0, None]  # answers so far, the last one (no network in this test)

    async def capture(f):
        sent[0] += 1
        sent[1] = bytes(f)

    cli.link.send = capture
    cli.move_to = lambda h, port: None  # a valid 0x34 would move the pile away
    mid = 0
    count = 0
    try:
        for name, cmd, data in _requests():
            variants = [data[:k] for k in range(len(data) + 1)] + [data + b"\x00" * 7]
            for i in range(len(data)):
                for v in (0x00, 0xFF, data[i] ^ 0x01, data[i] ^ 0x80):
                    d = bytearray(data)
                    d[i] = v
                    variants.append(bytes(d))
            for d in variants:
                mid = mid % 60000 + 1
                before = sent[0]
                await cli._on_frame(cli.phys, mid, cmd, memoryview(d))
                count += 1
                if cmd in (0x81,):
                    continue
                assert sent[0] == before + 1, (name, d)
                a = sent[1]
                assert a[11] == cmd and a[9] | a[10] << 8 == mid, (name, a)
                assert frame.checksum(memoryview(a)[:-2]) == a[-2] | a[-1] << 8
                cli.replies.clear()
        assert count > 1500, count
        assert p.resets == []  # (0x87 is not among them: it would only be asked to reset)
    finally:
        p.stop()
