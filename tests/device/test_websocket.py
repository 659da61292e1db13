# heapsize: 64K
# lib/wsconn.py + wsframe.py (an open WebSocket) on an in-memory socket that splits reads:
# text and binary, length encodings at their boundaries, fragments with control frames
# between them, pings both ways, bytes read past the handshake. The close handshake,
# cancelled reads and concurrent sends: test_websocket_close.py; malformed frames:
# test_websocket_malformed.py; 64 KiB messages: test_websocket_big.py.
import wsconn  # first: compiling it from source takes most of the 64K heap for a moment
import wsframe

import asyncio
import gc
import time

from wsfakes import Stream, Wire, closed_with, frame, sent, ws_on

async def test_text_and_binary_messages_come_as_str_and_bytes():
    ws, w = ws_on(frame(1, "h\u00e9llo \u20ac".encode()) + frame(2, b"\x00\xff\x80") + frame(1, b""))
    assert await ws.recv() == "h\u00e9llo \u20ac"
    m = await ws.recv()
    assert m == b"\x00\xff\x80" and isinstance(m, bytes)
    assert await ws.recv() == ""


def _pattern(n, k=1):
    return bytes((i * k) & 255 for i in range(n))


async def test_incoming_lengths_around_the_encoding_boundaries():
    # 7-bit / 16-bit lengths, and the 1024-byte buffer's edge (above: a buffer of its own)
    ws, w = ws_on(eof=False, max_size=1200)
    for n in (0, 1, 125, 126, 127, 1023, 1024, 1025, 1200):
        gc.collect()
        w.feed(frame(2, _pattern(n)))
        m = await ws.recv()
        assert m == _pattern(n), n
        m = None


async def test_outgoing_frames_masked_minimal_lengths_and_chunked():
    ws, w = ws_on(eof=False, bufsize=128)  # a message above 128 bytes takes several writes
    keys = set()
    for n in (0, 1, 125, 126, 127, 128, 129, 1000, 1200):
        await ws.send(_pattern(n, 7))
        (fin, op, p, hl), = sent(w.tx)
        assert fin == 1 and op == 2 and p == _pattern(n, 7), n
        assert hl == (6 if n < 126 else 8), (n, hl)  # 2 + 4-byte key, or + 16-bit length
        keys.add(bytes(w.tx[hl - 4 : hl]))
        w.tx = bytearray()
        p = None
        gc.collect()
    assert len(keys) == 9  # a key of its own for every frame
    await ws.send("\u20ac" * 50)  # 150 UTF-8 bytes straight from the str
    assert [f[:3] for f in sent(w.tx)] == [(1, 1, ("\u20ac" * 50).encode())]


async def test_fragments_reassembled_with_control_frames_between():
    data = (frame(1, "fr\u00e9".encode()[:3], fin=False) + frame(9, b"p1")
            + frame(0, "fr\u00e9".encode()[3:] + b" and ", fin=False)  # the \u00e9 split across fragments
            + frame(10, b"unasked") + frame(0, b"", fin=False) + frame(0, b"more"))
    ws, w = ws_on(data + frame(2, b"x", fin=False) + frame(0, b"y"))
    assert await ws.recv() == "fr\u00e9 and more"
    assert await ws.recv() == b"xy"
    assert [(op, p) for _, op, p, _ in sent(w.tx)] == [(10, b"p1")]  # the ping answered


async def test_ping_is_answered_with_its_payload():
    ws, w = ws_on(frame(9, b"") + frame(9, b"a" * 125) + frame(1, b"after"))
    assert await ws.recv() == "after"
    assert [(op, p) for _, op, p, _ in sent(w.tx)] == [(10, b""), (10, b"a" * 125)]


async def test_our_ping_learns_of_its_pong():
    seen = [0]

    def answer(wire):  # the peer answers each ping with its payload
        for _, op, p, _ in sent(wire.tx[seen[0] :]):
            if op == 9:
                wire.feed(frame(10, p))
        seen[0] = len(wire.tx)

    ws, w = ws_on(eof=False, on_tx=answer)
    reader = asyncio.create_task(closed_with(ws))
    for _ in range(3):  # the pong comes at once: the wait must not miss it and sit out 2 s
        t0 = time.ticks_ms()
        assert await ws.ping(timeout=2) is True
        assert time.ticks_diff(time.ticks_ms(), t0) < 1000
    w.on_tx = None  # the peer stops answering
    assert await ws.ping(timeout=0.05) is False
    ws.abort()
    code, _, got = await reader
    assert code == wsframe.ABNORMAL and got == []


async def test_bytes_read_past_the_handshake_come_first():
    w = Wire(frame(1, b"b"), eof=False)
    ws = wsconn.WebSocket(Stream(w), Stream(w), pending=frame(9, b"x") + frame(1, b"a"), protocol="ocpp1.6")
    assert await ws.recv() == "a" and await ws.recv() == "b" and ws.protocol == "ocpp1.6"
    assert sent(w.tx)[0][1:3] == (10, b"x")
