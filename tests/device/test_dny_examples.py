# heapsize: 512K
# The vendor guide's own examples of the server's commands, fed to the pile's client as they
# are printed (dnyvectors.py), and what the pile makes of them: its answer and what it did.
import asyncio

from dnypile import CONFIG, Pile, physics
from dnyvectors import CAPTURED, VENDOR, frame_bytes
from firmware import config
from firmware.proto.dny import frame


def _v(name):
    for n, h in VENDOR + CAPTURED:
        if n.startswith(name):
            b = frame_bytes(h)
            return b[9] | b[10] << 8, b[11], b[12:-2]
    raise KeyError(name)


async def _pile():
    srv = type("S", (), {"port": 1})()
    p = Pile(srv, n=2)
    p.tasks[0].cancel()  # no connection: frames go straight into the handlers
    out = []

    async def capture(f):
        out.append(bytes(f))

    p.cli.link.send = capture
    return p, out


async def _feed(p, out, name):
    mid, cmd, data = _v(name)
    n = len(out)
    await p.cli._on_frame(p.cli.phys, mid, cmd, memoryview(data))
    if len(out) == n:
        return None
    a = out[-1]
    assert a[11] == cmd and a[9] | a[10] << 8 == mid  # the answer carries the request's id
    return a[12:-2]


async def test_the_guides_examples_of_server_commands():
    p, out = await _pile()
    try:
        p.rig.plant.ports[1].plug(physics.Bike(cc_w=300.0, capacity_wh=50000))
        # 82: rate 0, balance 356 (voice only), port 01 = our port 2, start, 0 = until full,
        # order 12 34 56 78 x4, max time 28800 s, overload 5000 (500.0 W)
        a = await _feed(p, out, "V:611")
        assert a[0] == 0 and a[1:17] == bytes.fromhex("12345678" * 4) and a[17] == 1, a
        info = p.st.port(2)
        assert (info["kind"], info["method"]) == ("full", "remote")
        # 8A: timed without stop at full, port 01, 0x7080 = 28800 s: now a 480-minute budget
        assert await _feed(p, out, "V:653") == b"\x00"
        assert (p.st.port(2)["kind"], p.st.port(2)["amount"]) == ("time", 480)
        # 85: max 36000 s, overload 20000 x 0.1 W = 2000 W (the guide's example; the V limits cut off)
        assert await _feed(p, out, "V:730") == b"\x00"
        c = config.read(CONFIG)["charging"]
        assert (c["max_session_s"], c["overpower_w"]) == (36000, 2000)
        assert await _feed(p, out, "V:753") == b"\x01"  # 86 card keys: not kept by this pile
        assert await _feed(p, out, "V:792") == b"\x01"  # 88 clear memory: refused
        assert await _feed(p, out, "V:832") == b"\x01"  # 8D work mode: cannot switch
        assert await _feed(p, out, "V:1131") == b"\x01"  # E4: no OTA service in this test: not started
        assert await _feed(p, out, "V:597") is None  # 81: no answer of its own...
        assert p.cli.reg_ok is None and p.cli.hb_at is not None  # ...register and heartbeat now
        # the captured 37-byte start (one byte short of the table): port 0, 0x03F2 = 1010 balance
        a = await _feed(p, out, "C 82 start, 37")
        assert a[0] in (0, 1) and a[1:17] == frame_bytes(CAPTURED[4][1])[21:37], (a, frame_bytes(CAPTURED[4][1]))
        # 34: port 8888 (0x22B8), 4G, socket B, baidu.com: written and the client moves there
        assert await _feed(p, out, "H:352") == b"\x00"
        assert config.read(CONFIG)["backend"] == {"host": "baidu.com", "port": 8888}
        assert (p.cli.host, p.cli.port) == ("baidu.com", 8888)
        assert await _feed(p, out, "V:772") == b"\x00"  # 87: received...
        assert p.resets == [(True, "dny reboot")]  # ...and the reset after the answer went
    finally:
        p.stop()
