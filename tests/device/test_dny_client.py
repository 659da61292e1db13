# heapsize: 512K
# The DNY client (firmware/proto/dny) against a back end in the same micropython process
# (dnyfake.py), over real loopback TCP, with the real Station and Pile (dnypile.py): what a
# pile's module and firmware put on the wire and when, message ids, resends, going offline
# and back, keep-alive, the host frames, parameters onto the config, cards, alarms, reboot.
import asyncio

from dnyfake import Server, until
from dnypile import CONFIG, Pile
from firmware import config
from firmware.proto.dny import frame

PHYS = 0x04 << 24 | 13544000  # a 2-port pile: class 04, the number under its QR code


async def _setup(**kw):
    srv = await Server(time_answer=1750001234).start()
    return srv, Pile(srv, **kw)


def _done(srv, p):
    p.stop()
    srv.close()


async def test_connect_preamble_register_heartbeats_time_and_ids():
    srv, p = await _setup()
    try:
        await until(lambda: len(srv.sent(0x21)) >= 3, 15000)
        c = srv.conn
        assert bytes(c.raw[:20]) == b"898604D9162390488297"  # the ICCID first, as modules do
        assert bytes(c.raw[20:23]) == b"DNY"
        reg = srv.sent(0x20)[0]
        assert reg[1] == PHYS
        d = reg[4]
        # fw 6.40 -> 640, 2 ports, standalone, device type 0x31 (a socket), work mode 0, no power board
        assert (frame.u16(d, 0), d[2], d[3], d[4], d[5], frame.u16(d, 6)) == (640, 2, 0, 0x31, 0, 0)
        hb = srv.sent(0x21)[0][4]
        assert (hb[2], hb[3], hb[4], hb[5]) == (2, 0, 0, 0)  # two idle ports, signal 0 (wired)
        # the server's time set the clock through the net domain's TimeSync
        await until(lambda: p.net.time.source == "dny")
        assert abs(p.net.time.now() - 1750001234) <= 2
        # message ids: the pile's frames count 1, 2, 3... in the order sent; host frames apart
        pile = [f for f in c.frames if f[3] in (0x20, 0x21, 0x22)]
        host = [f for f in c.frames if f[3] in (0x11, 0x12, 0x35)]
        assert [f[2] for f in pile] == list(range(1, len(pile) + 1)), [(f[3], f[2]) for f in pile]
        assert [f[2] for f in host] == [1, 2, 3] and [f[3] for f in host] == [0x11, 0x12, 0x35]
        assert len(host[0][4]) == 71 and bytes(host[0][4][9:29]) == b"898604D9162390488297"
        assert host[0][4][29] == 0x55  # host type as real sockets send it
        assert frame.u32(host[2][4], 5) == PHYS  # 0x35: our own type, version and id
        # heartbeats every heartbeat_s (1 s): never two within half a period
        ts = [f[0] for f in srv.sent(0x21)]
        for a, b in zip(ts, ts[1:]):
            assert b - a >= 500, ts
        assert ("backend.online", {"protocol": "dny", "reason": ""}) in p.events()
        assert p.st.backend_ok
    finally:
        _done(srv, p)


async def test_an_unanswered_request_is_resent_once_with_the_same_id():
    srv = await Server(time_answer=None).start()
    srv.withhold[0x20] = 1
    p = Pile(srv, retry_s=3600, heartbeat_s=1, time_s=3600)
    try:
        await until(lambda: len(srv.sent(0x20)) >= 2 and len(srv.sent(0x22)) >= 2, 5000)
        a, b = srv.sent(0x20)[:2]
        assert a[2] == b[2] and a[4] == b[4] and b[0] - a[0] >= 300  # same id, after answer_ms
        t1, t2 = srv.sent(0x22)[:2]  # time: unanswered twice, then nothing until retry_s
        assert t1[2] == t2[2]
        n = len(srv.sent(0x21))  # three heartbeats later (a bounded look): nothing more of either
        await until(lambda: len(srv.sent(0x21)) >= n + 3, 10000)
        assert len(srv.sent(0x20)) == 2 and len(srv.sent(0x22)) == 2
        assert p.cli.reg_ok is not None  # the resend was answered
    finally:
        _done(srv, p)


async def test_two_unanswered_heartbeats_take_the_pile_offline_and_back():
    srv, p = await _setup()
    try:
        await until(lambda: ("backend.online", {"protocol": "dny", "reason": ""}) in p.events())
        srv.answers[0x21] = None
        await until(lambda: any(t == "backend.offline" for t, _ in p.events()), 15000)
        off = [d for t, d in p.events() if t == "backend.offline"][0]
        assert off["reason"] == "2 heartbeats unanswered"
        first = srv.conns[0]
        # every unanswered heartbeat was sent twice (one resend), and two of them went unanswered
        unanswered = [f for f in srv.sent(0x21, first)]
        assert len(unanswered) >= 4
        srv.answers[0x21] = b"\x00"
        await until(lambda: len(srv.conns) >= 2 and len(srv.sent(0x21, srv.conns[-1])) >= 1, 10000)
        await until(lambda: [t for t, _ in p.events()].count("backend.online") >= 2, 10000)
        assert bytes(srv.conns[-1].raw[:20]) == b"898604D9162390488297"  # the preamble again
        assert p.net.links.reports.count(False) >= 1 and p.net.links.reports[-1] is True
    finally:
        _done(srv, p)


async def test_link_after_silence_and_bytes_for_the_budget():
    srv, p = await _setup(heartbeat_s=3600, link_idle_ms=300, retry_s=3600)
    try:
        await until(lambda: srv.conn and b"link" in srv.conn.raw, 5000)
        n = srv.conn.raw.count(b"link")
        await until(lambda: srv.conn.raw.count(b"link") >= n + 2, 5000)
        await until(lambda: p.net.budget.tx > 100 and p.net.budget.rx > 10)
    finally:
        _done(srv, p)


async def test_parameters_onto_the_config_refused_when_bad():
    srv, p = await _setup()
    try:
        await until(lambda: srv.sent(0x20))
        # 0x83: unplug 4 W / 12 s, full at 25 % for 1500 s, float 3000 s, heartbeat 2 s
        d = bytearray(11)
        for off, v in ((0, 4), (2, 12), (5, 1500), (7, 3000), (9, 2)):
            frame.put16(d, off, v)
        d[4] = 25
        assert await srv.request(0x83, d) == b"\x00"
        stored = config.read(CONFIG)
        assert stored["charging"] == {"unplug_w": 4, "unplug_s": 12, "full_pct": 25, "full_s": 1500, "float_s": 3000}
        assert stored["dny"]["heartbeat_s"] == 2 and p.cli.c["heartbeat_s"] == 2  # ours: at once
        back = await srv.request(0x90)
        assert back == bytes(d), (back, bytes(d))
        # a float percentage our config refuses (1..90): answered 1, nothing written
        d[4] = 95
        assert await srv.request(0x83, d) == b"\x01"
        assert config.read(CONFIG)["charging"]["full_pct"] == 25
        # 0x85: max time 30000 s, overload 1800 W (0.1 W), 260.0 / 110.0 V
        d = bytearray(8)
        for off, v in ((0, 30000), (2, 18000), (4, 2600), (6, 1100)):
            frame.put16(d, off, v)
        assert await srv.request(0x85, d) == b"\x00"
        c = config.read(CONFIG)["charging"]
        assert (c["max_session_s"], c["overpower_w"], c["volt_max_dv"], c["volt_min_dv"]) == (30000, 1800, 2600, 1100)
        assert await srv.request(0x92) == bytes(d)
        frame.put16(d, 2, 25000)  # 2500 W: above the port's 2000 W
        assert await srv.request(0x85, d) == b"\x01"
        # 0x84: the vendor's defaults, with a 30 W (300 x 0.1 W) minimum power
        d = bytearray(23)
        for off, v in ((0, 800), (2, 30), (4, 1800), (7, 300), (9, 10800), (11, 300), (13, 300), (15, 1800), (17, 300)):
            frame.put16(d, off, v)
        d[6], d[19], d[20], d[22] = 10, 75, 75, 1
        assert await srv.request(0x84, d) == b"\x00"
        c = config.read(CONFIG)["charging"]
        assert (c["unplug2_w"], c["unplug2_s"], c["noload_w"], c["noload_s"], c["overtemp_c"]) == (10, 300, 30, 1800, 75)
        assert await srv.request(0x91) == bytes(d)
    finally:
        _done(srv, p)


async def test_unsupported_commands_and_other_piles_frames():
    srv, p = await _setup()
    try:
        await until(lambda: srv.sent(0x20))
        for cmd in (0x86, 0x88, 0x8D, 0x8E, 0x95, 0x97, 0xF8, 0x32):
            assert await srv.request(cmd, b"\x00") == b"\x01", hex(cmd)
        # a frame for another physical id on our link is not ours to answer
        assert await srv.request(0x86, b"\x00", timeout_ms=800, phys=PHYS + 1) is None
        # 0x81: register and heartbeat now
        n20, n21 = len(srv.sent(0x20)), len(srv.sent(0x21))
        assert await srv.request(0x81, timeout_ms=300) is None  # not answered itself
        await until(lambda: len(srv.sent(0x20)) > n20 and len(srv.sent(0x21)) > n21, 3000)
    finally:
        _done(srv, p)


async def test_cards_alarms_and_reboot():
    srv, p = await _setup()
    try:
        await until(lambda: srv.sent(0x20))
        srv.answers[0x02] = bytes.fromhex("7A8D05DD00001027000000")  # ok, time rate, 100.00 balance, port 0
        bus = p.rig.bus
        bus.publish("card.ask", {"req": 7, "id_tag": "7A8D05DD", "port": 1, "purpose": "start"})
        await until(lambda: p.front.answers)
        card = srv.sent(0x02)[0][4]
        assert bytes(card[0:4]) == bytes.fromhex("7A8D05DD") and card[5] == 0  # card order, port 1 -> 0
        assert p.front.answers[0] == (7, True, None, 0, 10000, None)  # accepted, 100.00 yuan
        srv.answers[0x02] = bytes.fromhex("7A8D05DD06001027000000")
        bus.publish("card.ask", {"req": 8, "id_tag": "7A8D05DD", "port": None, "purpose": "balance"})
        await until(lambda: len(p.front.answers) == 2)
        assert p.front.answers[1] == (8, False, None, 0, 10000, "low_balance")
        assert srv.sent(0x02)[1][4][5] == 0xFF
        p.rig.bus.publish("alarm.over_temperature", {"on": True, "temp_dc": 851})
        p.rig.bus.publish("alarm.over_temperature", {"on": False, "temp_dc": 600})
        p.rig.bus.publish("alarm.smoke", {"on": True, "port": 2})
        await until(lambda: len(srv.sent(0x42)) == 2)
        assert [f[4] for f in srv.sent(0x42)] == [b"\x05\x00\x00", b"\x04\x01\x00"]
        assert await srv.request(0x87) == b"\x00"
        await until(lambda: p.resets)
        assert p.resets == [(True, "dny reboot")]
    finally:
        _done(srv, p)
