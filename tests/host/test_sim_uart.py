"""Sim UARTs: bytes from a peer arrive complete, in order and at the baud rate; timeouts
behave as on the ESP32; asyncio streams work; injected faults arrive as configured."""
import json

from simkit import board
from upile.sim.peers.loopback import LoopbackPeer

RATE_CODE = """
import machine, time
u = machine.UART(1, %(baud)d, tx=17, rx=16, rxbuf=1024, timeout=2000, timeout_char=500)
print('open')
"""

READ_ALL = """
u.write(b'G')
buf = bytearray(%(n)d)
mv = memoryview(buf)
got = u.readinto(mv[:1]) or 0
t0 = time.ticks_us()
while 0 < got < %(n)d:
    k = u.readinto(mv[got:])
    if not k:
        break
    got += k
t1 = time.ticks_us()
print(got, time.ticks_diff(t1, t0), buf == bytes(i %% 251 for i in range(%(n)d)))
"""


class OnRequest(LoopbackPeer):
    """Sends its payload when the chip writes 'G' (so the chip is already reading)."""

    def __init__(self, payload):
        super().__init__()
        self.payload = payload

    def on_rx(self, data):
        super().on_rx(data)
        if b"G" in data:
            self.send(self.payload)


def _paced(baud, n):
    peer = OnRequest(bytes(i % 251 for i in range(n)))
    with board() as b:
        b.attach_uart(1, peer)
        b.exec(RATE_CODE % {"baud": baud})
        assert peer.opens[-1] == (baud, 8, None, 1)
        got, us, same = b.exec(READ_ALL % {"n": n}, timeout=30).split()
    assert int(got) == n and same == "True"
    expected = baud / 10.0  # start + 8 data + stop bits per byte
    return (n - 1) / (int(us) / 1e6), expected


def test_4800_baud_delivers_about_480_bytes_per_second_complete_and_in_order():
    rate, expected = _paced(4800, 720)
    assert abs(rate - expected) <= 0.1 * expected, (rate, expected)


def test_115200_baud_paced_within_ten_percent():
    rate, expected = _paced(115200, 17280)
    assert abs(rate - expected) <= 0.1 * expected, (rate, expected)


def test_chip_tx_reaches_the_peer():
    peer = LoopbackPeer()
    with board() as b:
        b.attach_uart(2, peer)
        b.exec("import machine\nu = machine.UART(2, 115200, tx=4, rx=5)\nu.write(b'AT\\r\\n')\nu.write(b'ATI\\r\\n')")
        assert peer.wait_rx(9) == b"AT\r\nATI\r\n"


def test_read_timeouts_return_none_or_fewer_bytes():
    peer = LoopbackPeer()
    with board() as b:
        b.attach_uart(1, peer)
        out = b.exec("import machine, time\n"
                     "u = machine.UART(1, 9600, tx=17, rx=16, timeout=200)\n"
                     "t = time.ticks_ms(); r = u.read(10); print(r, time.ticks_diff(time.ticks_ms(), t) >= 190)\n"
                     "print(u.readline(), u.any())\n")
        assert out.split("\n")[0] == "None True"
        assert out.split("\n")[1] == "None 0"
        peer.send(b"abc")
        out = b.exec("time.sleep_ms(100)\nprint(u.any(), u.read(10), u.read(5))")
        assert out.strip() == "3 b'abc' None"
        peer.send(b"line one\nrest")
        out = b.exec("print(u.readline(), u.readline())")
        assert out.strip() == "b'line one\\n' b'rest'"


ASYNC_CODE = """
import asyncio, machine
u1 = machine.UART(1, 115200, tx=17, rx=16)
u2 = machine.UART(2, 115200, tx=4, rx=5)
lines = []
ticks = [0]
async def reader():
    r = asyncio.StreamReader(u1)
    while len(lines) < 3:
        lines.append(await r.readline())
async def writer():
    w = asyncio.StreamWriter(u2, {})
    for i in range(10):
        w.write(b'tick %d\\n' % i)
        await w.drain()
        ticks[0] += 1
        await asyncio.sleep_ms(20)
async def main():
    await asyncio.gather(reader(), writer())
asyncio.run(main())
print(lines, ticks[0])
"""


def test_asyncio_reader_on_one_uart_and_writer_on_another_run_side_by_side():
    p1, p2 = LoopbackPeer(), LoopbackPeer()
    with board() as b:
        b.attach_uart(1, p1)
        b.attach_uart(2, p2)
        p1.send(b"")

        def feed():
            b.wait_event("uart_open", lambda d: d[0] == 1)
            p1.send(b"first\nsecond\nthird\n")

        import threading
        t = threading.Thread(target=feed)
        t.start()
        out = b.exec(ASYNC_CODE, timeout=20)
        t.join()
        assert out.strip() == "[b'first\\n', b'second\\n', b'third\\n'] 10"
        assert p2.wait_rx(70).count(b"tick") == 10


def _faulted(kind, **kw):
    peer = LoopbackPeer()
    with board() as b:
        b.attach_uart(1, peer)
        b.exec("import machine\nu = machine.UART(1, 115200, tx=17, rx=16, timeout=1000, timeout_char=300)")
        b.uart(1).inject(kind, **kw)
        peer.send(bytes(range(100)))
        out = b.exec("d = u.read(200)\nprint(d.hex() if d else '')", timeout=10).strip()
        faults = [e[2] for e in b.events if e[1] == "uart_fault"]
        return bytes.fromhex(out), faults


def test_fault_drop_loses_exactly_the_configured_bytes():
    data, faults = _faulted("drop", count=5)
    assert data == bytes(range(5, 100))
    assert faults == [(1, "drop", "to_chip", 5)]


def test_fault_corrupt_flips_bits_in_the_configured_bytes_only():
    data, _ = _faulted("corrupt", count=3)
    assert len(data) == 100
    assert all(data[i] != i for i in range(3)) and data[3:] == bytes(range(3, 100))


def test_fault_garbage_inserts_bytes_before_the_stream():
    data, _ = _faulted("garbage", count=7)
    assert len(data) == 107 and data[7:] == bytes(range(100))


def test_fault_stall_delays_without_losing():
    peer = LoopbackPeer()
    with board() as b:
        b.attach_uart(1, peer)
        b.exec("import machine, time\nu = machine.UART(1, 115200, tx=17, rx=16, timeout=100)")
        b.uart(1).inject("stall", seconds=0.6)
        peer.send(b"x" * 50)
        out = b.exec("print(u.read(50))\ntime.sleep_ms(700)\nprint(u.read(50))").split("\n")
        assert out[0] == "None"
        assert out[1] == "b'" + "x" * 50 + "'"
