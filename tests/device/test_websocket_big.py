# heapsize: 512K
# lib/wsconn.py + wsframe.py with messages at the 16-bit / 64-bit length boundary
# (65535, 65536 bytes) both ways, a message of exactly max_size, and one byte more.
import gc

from wsfakes import closed_with, frame, sent, ws_on


def _pattern(n):
    return bytes((i * 13 + (i >> 8)) & 255 for i in range(n))


async def test_incoming_65535_65536_and_max_size():
    ws, w = ws_on(eof=False, max_size=70000, step=4096)
    for n in (65535, 65536, 70000):
        data = _pattern(n)
        w.feed(frame(2, b"", length=n))  # the header, then the payload: no copy of both
        w.feed(data)
        assert await ws.recv() == data, n
        data = None
        gc.collect()
    w.feed(frame(1, b"", length=70001))
    code, reason, _ = await closed_with(ws)
    assert code == 1009 and "70001+ bytes, max 70000" in reason


async def test_fragmented_message_up_to_max_size():
    ws, w = ws_on(eof=False, max_size=65536, step=4096)
    data = _pattern(65536)
    for i in range(0, 65536, 10000):  # 7 fragments, the buffer doubles as they come
        piece = memoryview(data)[i : i + 10000]
        w.feed(frame(0 if i else 2, b"", fin=i + 10000 >= 65536, length=len(piece)))
        w.feed(piece)
    assert await ws.recv() == data


async def test_outgoing_65535_and_65536_use_16_and_64_bit_lengths():
    ws, w = ws_on(eof=False)  # 1 KiB pieces: 64 writes, one mask key
    for n, hl in ((65535, 8), (65536, 14)):
        data = _pattern(n)
        await ws.send(data)
        (fin, op, p, got_hl), = sent(w.tx)
        assert (fin, op, got_hl) == (1, 2, hl) and p == data, n
        w.tx = bytearray()
        data = p = None
        gc.collect()
