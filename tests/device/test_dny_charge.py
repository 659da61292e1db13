# heapsize: 512K
# Charging through DNY against a back end in the same process (dnyfake.py) and the real
# Station and Pile (dnypile.py): 0x82 starts with budgets and order numbers (a repeated
# request is one start), the pile picks a port, stops need their order, 0x8A changes a
# running session, 0x06 reports while it charges, and every session is settled by 0x03
# exactly once from the bill journal: resent with the same figures until answered.
import asyncio

from dnyfake import Server, until
from dnypile import Pile, physics
from firmware.proto.dny import frame
from firmware.proto.dny.settle import offline_order, record, stop_reason

ORDER = bytes.fromhex("20230503234223414193991312684105")  # the guide's example shape


def _start(port, order, mode=0, value=0, balance=356):
    d = bytearray(38)
    d[0] = mode
    frame.put32(d, 1, balance)
    d[5] = port
    d[6] = 1
    frame.put16(d, 7, value)
    d[9:25] = order
    return d


def _stop(port, order):
    d = _start(port, order)
    d[6] = 0
    return d


async def _setup(n=2, **kw):
    srv = await Server(time_answer=1750001234).start()
    p = Pile(srv, n=n, **kw)
    await until(lambda: srv.sent(0x20))
    return srv, p


def _done(srv, p):
    p.stop()
    srv.close()


async def test_start_by_order_reports_stop_and_one_settlement():
    srv, p = await _setup()
    try:
        p.rig.plant.ports[0].plug(physics.Bike(cc_w=1000.0, capacity_wh=50000, pf=0.95))
        d = _start(0, ORDER, mode=0, value=7200)  # two hours by time
        mid = 77
        ans = await srv.request(0x82, d, mid=mid)
        assert ans[0] == 0 and ans[1:17] == ORDER and ans[17] == 0, ans
        info = p.st.port(1)
        assert (info["kind"], info["amount"], info["method"]) == ("time", 120, "remote")
        sid = info["id"]
        # the server did not get our answer and sends the same request again: same answer, one start
        again = await srv.request(0x82, d, mid=mid)
        assert again == ans and p.st.port(1)["id"] == sid
        # a new request (new id) for the same order on the same port: done already, no second session
        assert (await srv.request(0x82, d))[0] == 0 and p.st.port(1)["id"] == sid
        # another order on the busy port: 2 (already so)
        assert (await srv.request(0x82, _start(0, bytes(16))))[0] == 2
        await until(lambda: len(srv.sent(0x06)) >= 2, 10000)
        rep = srv.sent(0x06)[-1][4]
        assert rep[0] == 0 and rep[1] == 1 and rep[6] == 1 and rep[15:31] == ORDER
        assert 9000 <= frame.u16(rep, 7) <= 11000  # ~1000 W now, in 0.1 W
        assert frame.u16(rep, 35) > 2000 and frame.u16(rep, 37) > 4000  # ~220 V, ~4.8 A in mA
        # a stop with another order stops nothing; with ours it does, then one 0x03 comes
        assert (await srv.request(0x82, _stop(0, bytes(16))))[0] == 2
        assert p.st.port(1)["id"] == sid
        assert (await srv.request(0x82, _stop(0, ORDER)))[0] == 0
        await until(lambda: srv.sent(0x03), 5000)
        await until(lambda: not p.st.pending_bills(), 5000)
        s = srv.sent(0x03)[0][4]
        assert len(s) == 37 and s[13:29] == ORDER and s[6] == 0 and s[7] == 1 and s[12] == 7  # by the server
        bill_s = frame.u16(s, 0)
        assert bill_s > 60 and frame.u16(s, 4) * 10000 <= p.rig.plant.ports[0].energy_wh * 1000
        assert frame.u16(s, 2) >= 9000  # max power ~1000 W
        n = len(srv.sent(0x21))  # a later event bounds the look: two heartbeats after the ack
        await until(lambda: len(srv.sent(0x21)) >= n + 2, 10000)
        assert len(srv.sent(0x03)) == 1
    finally:
        _done(srv, p)


async def test_budget_end_settles_with_the_preset_reason_and_the_pile_picks_a_port():
    srv, p = await _setup()
    try:
        p.rig.plant.ports[1].plug(physics.Bike(cc_w=1000.0, capacity_wh=50000, pf=0.95))
        p.st.set_available(1, False)  # only port 2 is free: 0xFF takes it
        ans = await srv.request(0x82, _start(0xFF, ORDER, mode=2, value=2))  # 0.02 kWh
        assert ans[0] == 0 and ans[17] == 1, ans
        assert (p.st.port(2)["kind"], p.st.port(2)["amount"]) == ("energy", 20)
        await until(lambda: srv.sent(0x03), 20000)
        s = srv.sent(0x03)[0][4]
        assert s[12] == 4 and s[13:29] == ORDER and s[6] == 1 and frame.u16(s, 4) == 2  # preset energy, 20 Wh
        # two ports free: the pile cannot tell where the bike is: 5 with both bits
        p.st.set_available(1, True)
        await until(lambda: p.st.port(2)["status"] == "Available", 5000)
        ans = await srv.request(0x82, _start(0xFF, bytes(range(16))))
        assert ans[0] == 5 and frame.u16(ans, 18) == 0b11
    finally:
        _done(srv, p)


async def test_change_a_running_session():
    srv, p = await _setup()
    try:
        assert await srv.request(0x8A, bytes((0, 0, 0x10, 0x0E))) == b"\x01"  # nothing runs there
        p.rig.plant.ports[0].plug(physics.Bike(cc_w=300.0, capacity_wh=50000))
        assert (await srv.request(0x82, _start(0, ORDER)))[0] == 0  # until full
        assert await srv.request(0x8A, bytes((2, 0, 50, 0))) == b"\x00"  # 0.5 kWh
        assert (p.st.port(1)["kind"], p.st.port(1)["amount"]) == ("energy", 500)
        assert await srv.request(0x8A, bytes((9, 0, 50, 0))) == b"\x03"  # no such mode
        assert await srv.request(0x8A, bytes((0, 7, 50, 0))) == b"\x03"  # no such port
        await until(lambda: p.st.port(1)["charged_s"] > 70, 10000)
        assert await srv.request(0x8A, bytes((0, 0, 60, 0))) == b"\x02"  # 60 s: below what ran
        await until(lambda: srv.sent(0x03), 10000)
        assert srv.sent(0x03)[0][4][12] == 3  # stopped at once: preset time reached
    finally:
        _done(srv, p)


async def test_an_unanswered_settlement_is_resent_the_same_until_answered():
    srv, p = await _setup(settle_retry_s=1)
    try:
        srv.answers[0x03] = None
        p.rig.plant.ports[0].plug(physics.Bike(cc_w=600.0, capacity_wh=50000))
        assert (await srv.request(0x82, _start(0, ORDER)))[0] == 0
        assert (await srv.request(0x82, _stop(0, ORDER)))[0] == 0
        await until(lambda: len(srv.sent(0x03)) >= 4, 15000)  # sent, resent, and again after settle_retry_s
        sent = srv.sent(0x03)
        assert sent[0][2] == sent[1][2] and sent[2][2] != sent[1][2]  # resend same id; the next one new
        assert all(f[4] == sent[0][4] for f in sent)  # the same record every time
        assert len(p.st.pending_bills()) == 1
        # the link drops: after the reconnect it goes again at once
        n = len(sent)
        srv.drop(srv.conn)
        await until(lambda: len(srv.conns) == 2 and srv.sent(0x03, srv.conns[1]), 10000)
        srv.answers[0x03] = b"\x00"
        await until(lambda: not p.st.pending_bills(), 10000)
        assert all(f[4] == sent[0][4] for f in srv.sent(0x03))
        assert len(srv.sent(0x03)) > n
    finally:
        _done(srv, p)


async def test_queued_settlements_go_one_after_the_other():
    srv, p = await _setup(n=2, settle_next_s=1)
    try:
        srv.answers[0x03] = None
        for port in (0, 1):
            p.rig.plant.ports[port].plug(physics.Bike(cc_w=500.0, capacity_wh=50000))
            o = bytes([port + 1]) * 16
            assert (await srv.request(0x82, _start(port, o)))[0] == 0
            assert (await srv.request(0x82, _stop(port, o)))[0] == 0
        await until(lambda: srv.sent(0x03))
        srv.answers[0x03] = b"\x00"
        await until(lambda: not p.st.pending_bills(), 15000)
        orders = []
        for f in srv.sent(0x03):
            if f[4][13:29] not in orders:
                orders.append(f[4][13:29])
        assert orders == [b"\x01" * 16, b"\x02" * 16]
        firsts = {}
        for f in srv.sent(0x03):
            firsts.setdefault(f[4][13:29], f[0])
        assert firsts[b"\x02" * 16] - firsts[b"\x01" * 16] >= 900  # the next one a minute (here 1 s) after
    finally:
        _done(srv, p)


def test_settlement_records_of_sessions_without_a_server_order():
    bill = {"id": 9, "port": 3, "method": "card", "id_tag": "7A8D05DD", "kind": "full", "cause": "unplugged",
            "energy_mwh": 123456, "charged_s": 3600, "peak_w": 250, "start_time": 1746316920, "stop_time": 1746320520,
            "ref": None}
    r = record(bill, 13544000)
    assert frame.u16(r, 0) == 3600 and frame.u16(r, 2) == 2500 and frame.u16(r, 4) == 12
    assert r[6] == 2 and r[7] == 0 and r[8:12] == bytes.fromhex("7A8D05DD") and r[12] == 5
    # offline order: 2025-05-04 00:02:00 UTC as BCD, the card, 13544000 as BCD, port 3 + 30
    assert r[13:29] == bytes.fromhex("20250504000200" + "7A8D05DD" + "13544000" + "33")
    assert frame.u32(r, 31) == 1746320520
    assert record(bill, 13544000) == r  # the same bill, the same record
    assert offline_order(dict(bill, method="code", start_time=None), 1, 3)[15] == 0x73
    for cause, kind, want in (("budget", "time", 3), ("budget", "energy", 4), ("full", "time", 1), ("max_time", "full", 2),
                              ("remote", "time", 7), ("over_power", "time", 6), ("SoftReset", "time", 0x15)):
        assert stop_reason({"cause": cause, "kind": kind}) == want, cause
