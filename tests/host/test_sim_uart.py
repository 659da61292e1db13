"""Sim UARTs: bytes from a peer arrive complete, in order and at the baud rate; timeouts
behave as on the ESP32; asyncio streams work; injected faults arrive as configured; a peer
that speaks at the instant of the open loses nothing; a reader that falls behind keeps
what an ESP32's driver keeps (rxbuf ring, one stashed byte, the FIFO's last bytes)."""
import threading
import time

from simkit import board
from upile.sim.peers import Peer
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
        b.uart(1).wait_delivered(3)  # at the chip's RX pin: a read now sees them
        out = b.exec("print(u.any(), u.read(10), u.read(5))")
        assert out.strip() == "3 b'abc' None"
        peer.send(b"line one\nrest")
        b.uart(1).wait_delivered(3 + 13)
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

        def feed():
            b.wait_event("uart_open", lambda d: d[0] == 1)
            p1.send(b"first\nsecond\nthird\n")

        t = threading.Thread(target=feed)
        t.start()
        out = b.exec(ASYNC_CODE, timeout=20)
        t.join()
        assert out.strip() == "[b'first\\n', b'second\\n', b'third\\n'] 10"
        assert p2.wait_rx(70).count(b"tick") == 10


def _faulted(kind, arriving, **kw):
    peer = LoopbackPeer()
    with board() as b:
        b.attach_uart(1, peer)
        b.exec("import machine\nu = machine.UART(1, 115200, tx=17, rx=16, rxbuf=1024, timeout=1000, timeout_char=300)")
        b.uart(1).inject(kind, **kw)
        peer.send(bytes(range(100)))
        b.uart(1).wait_delivered(arriving)
        out = b.exec("d = u.read(200)\nprint(d.hex() if d else '')", timeout=10).strip()
        faults = [e[2] for e in b.events if e[1] == "uart_fault"]
        return bytes.fromhex(out), faults


def test_fault_drop_loses_exactly_the_configured_bytes():
    data, faults = _faulted("drop", 95, count=5)
    assert data == bytes(range(5, 100))
    assert faults == [(1, "drop", "to_chip", 5)]


def test_fault_corrupt_flips_bits_in_the_configured_bytes_only():
    data, _ = _faulted("corrupt", 100, count=3)
    assert len(data) == 100
    assert all(data[i] != i for i in range(3)) and data[3:] == bytes(range(3, 100))


def test_fault_garbage_inserts_bytes_before_the_stream():
    data, _ = _faulted("garbage", 107, count=7)
    assert len(data) == 107 and data[7:] == bytes(range(100))


def test_fault_stall_delays_without_losing():
    peer = LoopbackPeer()
    with board() as b:
        b.attach_uart(1, peer)
        b.exec("import machine\nu = machine.UART(1, 115200, tx=17, rx=16, timeout=100)")
        t0 = time.monotonic()
        b.uart(1).inject("stall", seconds=0.6)
        peer.send(b"x" * 50)
        # unstalled, 50 bytes at 115200 baud take 4 ms; none may go before the stall ends
        assert b.uart(1).wait_delivered(50) >= t0 + 0.6
        assert b.exec("print(u.read(50))").strip() == "b'" + "x" * 50 + "'"


class Greeter(Peer):
    """An emulator that speaks first: its greeting goes out the instant the chip opens
    the UART (as a module that starts talking when its RX line goes idle-high)."""

    def __init__(self, greeting):
        self.greeting = greeting
        self._out = b""

    def on_open(self, baudrate, bits, parity, stop):
        self._out = self.greeting

    def poll(self, now):
        out, self._out = self._out, b""
        return out or None


def test_a_greeting_sent_at_the_instant_of_the_open_arrives_whole():
    # the chip's `uart` line and its UART socket reach the harness apart; bytes on the wire
    # in between belong to the open UART and wait for its socket (20 opens: both orders)
    greeting = bytes(range(32, 127))
    with board() as b:
        b.attach_uart(1, Greeter(greeting))
        out = b.exec("import machine\nok = 0\n"
                     "for i in range(20):\n"
                     "    u = machine.UART(1, 115200, tx=17, rx=16, timeout=2000, timeout_char=500)\n"
                     "    ok += u.read(%d) == %r\n"
                     "    u.deinit()\n"
                     "print(ok)" % (len(greeting), greeting), timeout=60)
        assert out.strip() == "20"
        assert not [e for e in b.events if e[1] == "uart_overflow"]


def test_bytes_on_the_wire_while_no_uart_is_open_are_lost_then_the_open_catches_the_rest():
    peer = LoopbackPeer()
    with board() as b:
        b.attach_uart(2, peer)
        peer.send(b"nobody listens")
        b.uart(2).wait_delivered(14)
        assert b.uart(2).lost_closed == 14
        b.exec("import machine\nu = machine.UART(2, 115200, tx=4, rx=5)")
        peer.send(b"hello")
        b.uart(2).wait_delivered(19)
        assert b.exec("print(u.read())").strip() == "b'hello'"


def test_a_reader_that_falls_behind_keeps_what_the_esp32_driver_keeps():
    # rxbuf 256: the ring takes bytes 0-255, the driver stashes byte 256 and stops RX
    # interrupts; the 128-byte FIFO overflows every 129 bytes and is reset, so of the
    # 743 bytes after the stash the last 743 % 129 = 98 survive; 645 are lost
    data = bytes((i * 7 + 3) % 256 for i in range(1000))
    peer = LoopbackPeer()
    with board() as b:
        b.attach_uart(1, peer)
        b.exec("import machine\nu = machine.UART(1, 115200, tx=17, rx=16, rxbuf=256)")
        peer.send(data)
        b.uart(1).wait_delivered(1000)
        out = b.exec("d = u.read()\nprint(d.hex(), u.any(), u._lost)").split()
        assert bytes.fromhex(out[0]) == data[:257] + data[-98:]
        assert out[1:] == ["0", "645"]
        b.wait_event("uart_overflow", lambda d: d == (1, 645))
        # the stream goes on normally once the reader keeps up
        peer.send(b"after")
        b.uart(1).wait_delivered(1005)
        assert b.exec("print(u.read())").strip() == "b'after'"


def test_stash_and_fifo_go_in_as_space_frees():
    # rxbuf 200: reading 100 frees room for the stash (1) and the FIFO's 60 bytes at once
    data = bytes(range(200)) + bytes(range(61))
    peer = LoopbackPeer()
    with board() as b:
        b.attach_uart(1, peer)
        b.exec("import machine\nu = machine.UART(1, 115200, tx=17, rx=16, rxbuf=200)")
        peer.send(data)
        b.uart(1).wait_delivered(len(data))
        out = b.exec("print(u.any(), u.read(100) == bytes(range(100)), u.any(), u._lost)").split()
        assert out == ["200", "True", "161", "0"]
        assert b.exec("print(u.read() == bytes(range(100, 200)) + bytes(range(61)))").strip() == "True"


def test_rxbuf_within_the_hardware_fifo_is_refused_and_init_discards_pending_input():
    peer = LoopbackPeer()
    with board() as b:
        b.attach_uart(1, peer)
        out = b.exec("import machine\ntry:\n    machine.UART(1, 9600, tx=17, rx=16, rxbuf=128)\n"
                     "except OSError as e:\n    print('refused', e.args[0])")
        assert out.strip() == "refused 1"
        b.exec("u = machine.UART(1, 9600, tx=17, rx=16)")
        peer.send(b"stale")
        b.uart(1).wait_delivered(5)
        # MicroPython's init() ends with uart_flush_input: what came before it is gone
        assert b.exec("u.init(baudrate=9600)\nprint(u.any(), u.read())").strip() == "0 None"
