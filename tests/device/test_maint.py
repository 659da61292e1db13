# heapsize: 320K
# The maintenance port's line protocol over a fake stream, through the command interface
# (firmware/station.py) onto a real Pile (fake ports board over the sim physics, fake clock),
# events from the bus: every command, bad input, event push, a custom command table.
import asyncio
import time

from chgsim import Rig, physics
from firmware import config
from firmware.bus import Bus
from firmware.proto import maint
from firmware.proto.maint.lines import CmdError, Server
from firmware.station import Station

HELP = "ok ack avail bills clear help info limit logs ota start status stop tap"


async def until(cond, ms=5000):
    """Yield to the other tasks until cond() holds (AssertionError after `ms` ms)."""
    t0 = time.ticks_ms()
    while not cond():
        assert time.ticks_diff(time.ticks_ms(), t0) < ms, "condition not met in %d ms" % ms
        await asyncio.sleep_ms(0)


class FakeStream:
    """What the technician's terminal would see; feed() types, close() unplugs."""

    def __init__(self):
        self.inp = bytearray()
        self.out = bytearray()
        self.closed = False
        self.ev = asyncio.Event()
        self.reads = 0
        self.waiting = False  # the reader is blocked on an empty input

    def feed(self, data):
        self.inp += data
        self.ev.set()

    def close(self):
        self.closed = True
        self.ev.set()

    async def read(self, n):
        self.reads += 1
        while not self.inp:
            if self.closed:
                return b""
            self.ev.clear()
            self.waiting = True
            await self.ev.wait()
            self.waiting = False
        out = bytes(self.inp[:n])
        self.inp = self.inp[n:]
        return out

    def write(self, b):
        self.out += b

    async def drain(self):
        await asyncio.sleep_ms(0)

    def lines(self, since=0):
        return [l for l in bytes(self.out[since:]).decode().split("\r\n") if l]


class Port:
    def __init__(self, pile=True, table=None):
        self.rig = Rig(n=2) if pile else None
        self.bus = self.rig.bus if pile else Bus()
        self.station = Station(config.defaults(), self.bus, version="9.9.9")
        if pile:
            self.station.attach(pile=self.rig.pile)
        self.svc = Server(self.station, self.bus, table) if table else maint.server(self.station, self.bus)
        self.s = FakeStream()
        self.task = asyncio.create_task(self.svc.serve(self.s))

    async def settle(self):
        """Until the port has taken all input and answered it (it writes every reply before
        reading on) and has pushed every queued event."""
        s, svc = self.s, self.svc
        await until(lambda: s.closed or (not s.inp and s.waiting and (svc.sub is None or svc.sub.pending() == 0)))

    async def cmd(self, line):
        """Reply lines (ok/err, with continuation lines) to what is typed at the port."""
        mark = len(self.s.out)
        self.s.feed(line if isinstance(line, bytes) else line.encode() + b"\r\n")
        await self.settle()
        return [l for l in self.s.lines(mark) if not l.startswith("evt ")]

    def events(self):
        return [l for l in self.s.lines() if l.startswith("evt ")]

    async def close(self):
        self.s.close()
        await self.settle()
        self.task.cancel()


def fields(line):
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


async def test_status_start_info_stop_bills_ack():
    p = Port()
    r = await p.cmd("status")
    assert r == ["ok version=9.9.9 ports=2 idle=1 1=Available 2=Available"]
    assert await p.cmd("help") == [HELP]
    p.rig.plant.ports[0].plug(physics.Bike(cc_w=300))
    r = await p.cmd("start 1 time 30 card-7")
    assert r[0].startswith("ok id=") and fields(r[0])["port"] == "1", r
    sid = fields(r[0])["id"]
    p.rig.run(20)
    r = await p.cmd("info 1")
    f = fields(r[0])
    assert r[0].startswith("ok port=1 ") and f["status"] == "Charging" and f["id"] == sid and f["kind"] == "time"
    assert 250 <= int(f["p_w"]) <= 310 and int(f["mwh"]) > 0, r
    r = await p.cmd("status")
    assert "idle=0 1=Charging 2=Available" in r[0]
    r = await p.cmd("stop 1")
    f = fields(r[0])
    assert f["id"] == sid and f["reason"] == "Local" and f["cause"] == "service" and f["tag"] == "card-7"
    assert int(f["mwh"]) > 0 and f["kind"] == "time" and f["amount"] == "30"
    r = await p.cmd("bills")
    assert r[0] == "ok bills more=1" and len(r) == 2 and fields(r[1])["id"] == sid
    assert await p.cmd("ack " + sid) == ["ok acked id=" + sid]
    assert await p.cmd("ack " + sid) == ["err no_bill %s is not pending" % sid]
    assert await p.cmd("bills") == ["ok bills more=0"]
    assert p.rig.pile.pending_bills() == []
    await p.close()


async def test_card_tap_starts_and_the_same_card_stops_with_the_back_ends_answer():
    p = Port()
    seen = []

    async def authorizer(tag):
        seen.append(tag)
        return ("Accepted", None) if tag.startswith("ok") else ("Blocked", None)

    p.station.set_authorizer(authorizer)
    assert await p.cmd("tap 1 bad-card") == ["err not_authorized Blocked"]
    r = await p.cmd("tap 1 ok-card")
    assert r[0].startswith("ok started id=") and fields(r[0])["port"] == "1", r
    assert await p.cmd("tap 1 ok-other") == ["err not_owner tap"]  # no parent to compare: not asked
    assert seen == ["bad-card", "ok-card"]
    r = await p.cmd("tap 1 ok-card")
    f = fields(r[0])
    assert r[0].startswith("ok stopped ") and f["reason"] == "Local" and f["cause"] == "card", r
    assert await p.cmd("tap 1 " + "x" * 21) == ["err bad_args tag longer than 20"]
    await p.close()


async def test_refusals_and_wrong_args_get_err_and_lose_nothing():
    p = Port()
    cases = [
        ("start", "err bad_args usage: start <port> <time|energy|money|full> <amount> [tag]"),
        ("start 1 money", "err bad_args usage: start <port> <time|energy|money|full> <amount> [tag]"),
        ("start x money 5", "err bad_args port must be an integer, got x"),
        ("start 1 money five", "err bad_args amount must be an integer, got five"),
        ("start 1 beer 5", "err bad_args kind must be time, energy, money or full"),
        ("start 1 money 5 " + "t" * 40, "err bad_args tag longer than 32"),
        ("start 1 money 5 a b", "err bad_args usage: start <port> <time|energy|money|full> <amount> [tag]"),
        ("start 9 money 5", "err no_such_port start"),
        ("start 0 time 5", "err no_such_port start"),
        ("start 1 money -5", "err bad_budget start"),
        ("start 1 time 0", "err bad_budget start"),
        ("stop", "err bad_args usage: stop <port>"),
        ("stop 2", "err no_session stop"),
        ("info 7", "err no_such_port info"),
        ("info", "err bad_args usage: info <port>"),
        ("ack", "err bad_args usage: ack <id>"),
        ("ack 1x", "err bad_args id must be an integer, got 1x"),
        ("bills now", "err bad_args usage: bills [json]"),
        ("status now", "err bad_args usage: status [json]"),
        ("logs all", "err bad_args usage: logs"),
        ("reboot", "err unknown_command reboot (try help)"),
    ]
    for line, want in cases:
        assert await p.cmd(line) == [want], (line, await p.cmd(line))
    assert p.rig.pile.is_idle() and p.rig.pile.pending_bills() == []
    r = await p.cmd("start 2 full 0")
    assert r[0].startswith("ok id=")
    assert await p.cmd("start 2 money 50") == ["err port_busy start"]
    await p.close()


async def test_garbage_overlong_and_control_bytes_never_block():
    p = Port()
    assert await p.cmd(b"\xff\xfe\x00\x81zz\n") == ["err bad_line not printable ASCII"]
    assert await p.cmd(b"sta\x1btus\r") == ["err bad_line not printable ASCII"]
    long = b"status " + b"x" * 300 + b"\n"
    assert await p.cmd(long) == ["err too_long max 128 bytes"]
    # exactly 128 bytes is a line; 129 is not
    assert await p.cmd(b"help" + b" " * 124 + b"\n") == [HELP]
    assert await p.cmd(b"help" + b" " * 125 + b"\n") == ["err too_long max 128 bytes"]
    # an over-long line split over many reads, then a good command in the same chunk
    p.s.feed(b"y" * 100)
    await p.settle()
    r = await p.cmd(b"y" * 100 + b"\nstatus\n")
    assert r[0] == "err too_long max 128 bytes" and r[1].startswith("ok version=9.9.9"), r
    # blank lines, CRLF and lone CR are all line ends and get no reply
    assert await p.cmd(b"\r\n\n\r") == []
    assert await p.cmd(b"  \t\n") == ["err bad_line not printable ASCII"]
    assert await p.cmd(b"   \n") == []
    # random bytes: one reply per line end, never a crash
    seed = 12345
    junk = bytearray()
    for _ in range(3000):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        junk.append((seed >> 16) & 0xFF)
    p.s.feed(bytes(junk) + b"\n")  # the junk's last line may be over-long: a line end closes it
    await p.settle()
    r = await p.cmd("status")
    assert r[-1].startswith("ok version=9.9.9"), r[-3:]
    assert all(l.startswith("ok") or l.startswith("err") for l in p.s.lines() if not l.startswith("evt"))
    assert len(p.svc._buf) == 128 and not p.task.done()
    await p.close()


async def test_events_pushed_as_lines_until_budget_stop():
    p = Port()
    p.rig.plant.ports[1].plug(physics.Bike(cc_w=400, capacity_wh=2000, soc=0.1))
    r = await p.cmd("start 2 energy 10 fob-3")
    sid = fields(r[0])["id"]
    assert p.rig.run(600, until=p.rig.pile.is_idle)
    await p.settle()
    ev = p.events()
    assert ev[0] == "evt status 2 Preparing prev=Available cause=start"
    assert ev[1] == "evt started 2 id=%s kind=energy amount=10 tag=fob-3 resumed=0 method=service meter_start=0" % sid
    assert ev[2] == "evt status 2 Charging prev=Preparing cause=load"
    bill = [e for e in ev if e.startswith("evt bill 2 ")]
    assert len(bill) == 1
    f = fields(bill[0])
    assert f["reason"] == "Other" and f["cause"] == "budget" and f["id"] == sid and f["port"] == "2"
    assert 10000 <= int(f["mwh"]) < 10400 and f["method"] == "service" and f["tag"] == "fob-3"
    assert int(f["meter_stop"]) - int(f["meter_start"]) == int(f["mwh"]) // 1000  # the port's register, in Wh
    assert ev[-2:] == ["evt status 2 Finishing prev=Charging cause=budget", bill[0]]
    assert p.rig.plant.ports[1].relay is False
    await p.close()


async def test_event_queue_is_bounded_and_counts_drops():
    bus = Bus()
    svc = Server(None, bus, {})
    for i in range(100):  # nobody reads the port yet: the publisher never waits
        bus.publish("port.status", {"port": 1, "status": "Charging", "prev": "Preparing", "cause": "load"})
    assert svc.sub.pending() == 32 and svc.sub.dropped == 68
    s = FakeStream()
    t = asyncio.create_task(svc.serve(s))
    await until(lambda: svc.sub.pending() == 0 and s.waiting)
    lines = s.lines()
    assert lines[0] == "evt dropped n=68" and len(lines) == 33 and svc.sub.dropped == 0
    assert lines[1] == "evt status 1 Charging prev=Preparing cause=load"
    s.close()
    await asyncio.sleep_ms(0)
    t.cancel()


async def test_custom_table_sync_async_and_failing_handlers():
    async def ota(srv, args):
        await asyncio.sleep_ms(1)
        if args == ["check"]:
            return "checking url=http://x"
        raise CmdError("bad_args", "usage: ota check")

    def boom(srv, args):
        raise KeyError("x")

    def many(srv, args):
        return "items", ["a=1", "b=2"]

    from firmware.proto.maint.commands import TABLE

    table = dict(TABLE)
    table.update({"ota": (ota, "ota check"), "boom": (boom, "boom"), "many": (many, "many")})
    p = Port(table=table)
    assert await p.cmd("ota check") == ["ok checking url=http://x"]
    assert await p.cmd("ota") == ["err bad_args usage: ota check"]
    assert await p.cmd("boom") == ["err failed boom"]
    assert await p.cmd("many") == ["ok items more=2", "ok a=1", "ok b=2"]
    assert "boom" in (await p.cmd("help"))[0] and "boom" not in TABLE
    assert (await p.cmd("status"))[0].startswith("ok version=")
    await p.close()


async def test_without_pile_commands_say_so_and_events_still_flow():
    p = Port(pile=False)
    assert await p.cmd("status") == ["ok version=9.9.9 charging=off"]
    assert await p.cmd("start 1 money 5") == ["err no_pile charging is not running"]
    assert await p.cmd("ota status") == ["ok phase=off"]
    assert await p.cmd("ota check") == ["err no_ota the OTA service is not running"]
    p.bus.publish("port.status", {"port": 3, "status": "Faulted", "prev": "Available", "cause": "meter_silent",
                                  "error": "PowerMeterFailure"})
    p.bus.publish("ota.Downloading", {"reason": "app", "version": "2.0", "request_id": 7})
    await p.settle()
    assert p.events() == ["evt status 3 Faulted prev=Available cause=meter_silent error=PowerMeterFailure",
                          "evt ota Downloading reason=app request_id=7 version=2.0"]
    await p.close()


async def test_clear_avail_and_limit_reach_the_pile():
    p = Port()
    pile = p.rig.pile
    assert await p.cmd("avail 2 off") == ["ok Accepted port=2"]
    assert pile.status(2) == "Unavailable"
    assert await p.cmd("start 2 full") == ["err unavailable start"]
    p.rig.plant.ports[0].plug(physics.Bike(cc_w=300))
    await p.cmd("start 1 full")
    assert await p.cmd("avail 1 off") == ["ok Scheduled port=1"]  # the session runs on
    p.rig.run(5)
    assert pile.status(1) == "Charging"
    assert await p.cmd("limit 1 100") == ["ok limit port=1 w=100"]
    p.rig.run(2)
    assert pile.status(1) == "SuspendedEVSE" and not p.rig.plant.ports[0].relay
    assert await p.cmd("limit 1 off") == ["ok limit port=1 w=-"]
    p.rig.run(8)
    assert pile.status(1) == "Charging"
    assert await p.cmd("limit 1 x") == ["err bad_args watts must be an integer, got x"]
    await p.cmd("stop 1")
    p.rig.run(2)
    assert pile.status(1) == "Unavailable"  # the scheduled change took effect
    assert await p.cmd("avail 0 on") == ["ok Accepted port=0"]
    assert pile.status(1) == "Available" and pile.status(2) == "Available"
    p.rig.plant.ports[1].silent = True
    p.rig.run(5)
    assert pile.status(2) == "Faulted"
    assert await p.cmd("clear 2") == ["err fault_active clear"]  # the meter is still silent
    p.rig.plant.ports[1].silent = False
    p.rig.run(1)
    assert await p.cmd("clear 2") == ["ok cleared port=2"]  # an operator need not wait
    assert await p.cmd("clear 2") == ["ok no_fault port=2"]
    assert pile.status(2) == "Available"
    await p.close()
