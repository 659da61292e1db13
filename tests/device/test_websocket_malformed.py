# heapsize: 64K
# lib/wsconn.py + wsframe.py against a server that breaks RFC 6455: each malformed frame
# ends the connection with its close code (sent to the peer too) and never grows the heap;
# a connection dropped or stalled inside a frame ends with 1006.
import wsconn  # noqa: F401 first: compiling it from source takes most of the 64K heap for a moment

import asyncio
import gc

from wsframe import ConnectionClosed
from wsfakes import close_frame, closed_with, frame, sent, ws_on


def _last_close(w):
    fin, op, p, _ = sent(w.tx)[-1]
    assert op == 8, sent(w.tx)
    return int.from_bytes(p[:2], "big") if p else None


# (frames, close code, what the reason says)
MALFORMED = (
    (frame(1, b"x", rsv=0x40), 1002, "RSV"),
    (frame(1, b"x", rsv=0x20), 1002, "RSV"),
    (frame(2, b"x", rsv=0x10), 1002, "RSV"),
    (frame(3, b"x"), 1002, "opcode 3"),
    (frame(7, b"x"), 1002, "opcode 7"),
    (frame(11, b"x"), 1002, "control opcode 11"),
    (frame(15, b""), 1002, "control opcode 15"),
    (frame(1, b"hi", mask=b"abcd"), 1002, "masked"),
    (frame(9, b"p" * 126), 1002, "126 bytes"),
    (frame(10, b"p", fin=False), 1002, "fragmented"),
    (frame(8, b"\x03", fin=False), 1002, "fragmented"),
    (frame(0, b"x"), 1002, "continuation"),
    (frame(1, b"a", fin=False) + frame(2, b"b"), 1002, "inside a fragmented"),
    (b"\x82\x7f\x80" + bytes(7), 1002, "top bit"),
    (frame(8, b"\x03"), 1002, "1-byte"),
    (close_frame(1005), 1002, "1005"),
    (close_frame(1006), 1002, "1006"),
    (close_frame(999), 1002, "999"),
    (close_frame(1016), 1002, "1016"),
    (close_frame(5000), 1002, "5000"),
    (close_frame(1000, b"\xff"), 1007, "reason"),
    (frame(1, b"\xff"), 1007, "UTF-8"),
    (frame(1, b"\xc0\x80"), 1007, "UTF-8"),  # overlong NUL
    (frame(1, b"\xe0\x80\xaf"), 1007, "UTF-8"),  # overlong
    (frame(1, b"\xed\xa0\x80"), 1007, "UTF-8"),  # a surrogate
    (frame(1, b"\xf4\x90\x80\x80"), 1007, "UTF-8"),  # above U+10FFFF
    (frame(1, b"ok \xe2\x82"), 1007, "UTF-8"),  # cut short at the end
    (frame(1, b"\xe2\x82", fin=False) + frame(0, b"(", fin=True), 1007, "UTF-8"),
    (frame(1, b"", length=257), 1009, "257+ bytes, max 256"),  # refused before its payload
    (frame(2, b"", length=1 << 40), 1009, "1099511627776+ bytes"),
    (frame(2, b"", length=(1 << 63) - 1), 1009, "bytes, max 256"),
    (frame(1, b"a" * 200, fin=False) + frame(0, b"", length=100), 1009, "300+ bytes"),
)


async def _case(good, data, code, why):
    ws, w = ws_on(good + data + frame(1, b"never seen"), max_size=256)
    got_code, reason, got = await closed_with(ws)
    assert (got_code, got) == (code, ["before"]), (data[:12], got_code, reason, got)
    assert why in reason, (why, reason)
    assert _last_close(w) == code and w.closed, data[:12]


async def test_each_malformed_frame_closes_with_its_code_and_the_heap_stays_put():
    good = frame(1, b"before")
    await _case(good, *MALFORMED[0])  # the first connection loads asyncio's wait_for, Lock, Event
    gc.collect()
    base = gc.mem_alloc()
    for data, code, why in MALFORMED:
        await _case(good, data, code, why)
        gc.collect()
        # a connection's buffers (about 2.3 KB) come and go, nothing accumulates, and the
        # frames announcing 2**40 and 2**63 bytes were refused before any allocation
        assert gc.mem_alloc() - base < 512, (data[:12], gc.mem_alloc() - base)


async def test_every_reserved_opcode_is_a_protocol_error():
    good = frame(1, b"before")
    for op in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):  # RFC 6455 5.2: reserved, no extension
        for fin in (True, False):
            await _case(good, frame(op, b"x", fin=fin), 1002, "opcode %d" % op)


async def test_dropped_inside_a_frame_or_between_frames_is_1006():
    for data, why in ((frame(1, b"whole") + frame(1, b"x" * 300)[:150], "inside a frame"),
                      (frame(1, b"whole") + b"\x81", "inside a frame"),
                      (frame(1, b"whole"), "without a close frame")):
        ws, w = ws_on(data)
        code, reason, got = await closed_with(ws)
        assert (code, got) == (1006, ["whole"]) and why in reason, (code, reason)
        assert w.closed


async def test_a_peer_that_stops_reading_fails_the_send_at_the_timeout():
    ws, w = ws_on(eof=False, timeout=0.05)
    w.stuck = True  # the socket takes nothing more: drain() never ends
    try:
        await ws.send("x" * 300)
        raise AssertionError("send went through")
    except ConnectionClosed as e:
        assert e.code == 1006 and "no progress" in e.reason, e.args
    assert w.closed and ws.closed


async def test_a_second_reader_is_refused():
    ws, w = ws_on(eof=False)
    first = asyncio.create_task(ws.recv())
    await asyncio.sleep_ms(0)
    try:
        await ws.recv()
        raise AssertionError("two readers")
    except RuntimeError:
        pass
    w.feed(frame(1, b"one"))
    assert await first == "one"


async def test_a_peer_that_stalls_inside_a_frame_times_out():
    ws, w = ws_on(frame(1, b"x" * 300)[:100], eof=False, timeout=0.05)
    code, reason, _ = await closed_with(ws)
    assert code == 1006 and "inside a frame" in reason and w.closed
