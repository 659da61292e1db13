# heapsize: 64K
# lib/wsconn.py + wsframe.py: the close handshake from either side (codes echoed, the wait
# for the server to close first, bounded), close codes refused, cancelled reads, and
# senders in several tasks, on the in-memory socket of wsfakes.py.
import wsconn  # noqa: F401 first: compiling it from source takes most of the 64K heap for a moment

import asyncio

from wsframe import ConnectionClosed
from wsfakes import close_frame, closed_with, frame, sent, ws_on
def _last_close(w):
    fin, op, p, _ = sent(w.tx)[-1]
    assert op == 8, sent(w.tx)
    return int.from_bytes(p[:2], "big") if p else None


async def test_close_from_the_server_is_echoed():
    ws, w = ws_on(frame(1, b"last") + close_frame(1001, b"going \xc3\xa9"))
    code, reason, got = await closed_with(ws)
    assert (code, reason, got) == (1001, "going \u00e9", ["last"])
    assert _last_close(w) == 1001 and w.closed and ws.closed
    try:
        await ws.send("late")
        raise AssertionError("send after close")
    except ConnectionClosed as e:
        assert e.code == 1001


async def test_close_without_a_code_is_1005_and_echoed_empty():
    ws, w = ws_on(close_frame())
    code, _, _ = await closed_with(ws)
    assert code == 1005 and _last_close(w) is None


async def test_close_from_us_waits_for_the_peers_close():
    def peer(wire):
        if sent(wire.tx)[-1][1] == 8:
            wire.feed(frame(1, b"in flight") + close_frame(4001))
            wire.hangup()  # a server closes the connection after the close frames

    ws, w = ws_on(eof=False, on_tx=peer)
    await ws.close(4001, "done")
    assert sent(w.tx)[-1][1:3] == (8, b"\x0f\xa1done") and w.closed
    assert (ws.code, ws.reason) == (4001, "done")
    code, _, got = await closed_with(ws)
    assert code == 4001 and got == []
    await ws.close()  # again: harmless


async def test_close_while_another_task_reads():
    def peer(wire):
        if sent(wire.tx)[-1][1] == 8:
            wire.feed(close_frame(1000))
            wire.hangup()

    ws, w = ws_on(eof=False, on_tx=peer)
    reader = asyncio.create_task(closed_with(ws))
    await asyncio.sleep_ms(0)
    await ws.close()
    assert (await reader)[0] == 1000 and w.closed


async def test_a_server_that_stays_after_the_close_frames_is_left_at_the_timeout():
    def peer(wire):
        if sent(wire.tx)[-1][1] == 8:
            wire.feed(close_frame(1000))  # and never closes the connection

    ws, w = ws_on(eof=False, on_tx=peer, timeout=0.1)
    await ws.close()
    assert w.closed and ws.closed and ws.code == 1000


async def test_close_rejects_codes_not_for_the_wire():
    ws, w = ws_on(eof=False)
    for code in (999, 1005, 1006, 1015, 2999, 5000):
        try:
            await ws.close(code)
            raise AssertionError(code)
        except ValueError:
            pass
    assert not ws.closed and not w.tx


async def test_cancelling_recv_between_frames_loses_nothing():
    ws, w = ws_on(eof=False)
    try:
        await asyncio.wait_for(ws.recv(), 0.02)
        raise AssertionError("recv returned without data")
    except asyncio.TimeoutError:
        pass
    w.feed(frame(1, b"then"))
    assert await ws.recv() == "then"


async def test_cancelling_recv_inside_a_frame_ends_the_connection():
    ws, w = ws_on(frame(1, b"x" * 300)[:100], eof=False, timeout=10)
    try:
        await asyncio.wait_for(ws.recv(), 0.05)
        raise AssertionError("recv returned a partial frame")
    except asyncio.TimeoutError:
        pass
    code, reason, _ = await closed_with(ws)
    assert code == 1006 and "interrupted" in reason and w.closed


async def test_senders_in_two_tasks_do_not_interleave_frames():
    ws, w = ws_on(eof=False, bufsize=128)
    a, b = b"a" * 600, b"b" * 500
    await asyncio.gather(ws.send(a), ws.send(b), ws.ping())
    got = sorted((op, p) for _, op, p, _ in sent(w.tx))
    assert got == [(2, a), (2, b), (9, b"\x00\x00\x00\x01")], got
