# heapsize: 448K
# The maintenance protocol on the REPL's console (firmware/proto/maint/console.py) over a fake
# stream, through the command interface onto a real Pile: only marked lines are commands, each
# reply line is framed with the host's tag and says whether more follow, everything else on
# the console (prints, a human's typing, noise) gets no answer, no event is ever pushed there;
# and the tools' commands: status json (the same keys as the raw-REPL fallback's code),
# bills json, logs streamed from flash.
import asyncio
import json
import os
import sys

import log
from chgsim import Rig, physics
from firmware import config
from firmware.bus import Bus
from firmware.proto import maint
from firmware.station import Station

TMP = os.getenv("UPILE_TMP")
RS = "\x1e"


class FakeConsole:
    """The console as the app sees it: feed() is what the host (or a human) types; what the
    app wrote is kept one write at a time (no big joined copies in the test's heap)."""

    def __init__(self):
        self.inp = bytearray()
        self.out = []  # each write, decoded
        self.writes = []  # size of each write
        self.ev = asyncio.Event()
        self.closed = False
        self.evt = False  # an `evt` line was written

    def feed(self, data):
        self.inp += data
        self.ev.set()

    async def read(self, n):
        while not self.inp:
            if self.closed:
                return b""
            self.ev.clear()
            await self.ev.wait()
        out = bytes(self.inp[:n])
        self.inp = self.inp[n:]
        return out

    def write(self, b):
        self.out.append(str(b, "utf-8"))
        self.writes.append(len(b))
        if b"evt" in b:
            self.evt = True

    async def drain(self):
        await asyncio.sleep_ms(0)


class Con:
    def __init__(self, pile=True, station=None):
        self.rig = Rig(n=2) if pile else None
        self.bus = self.rig.bus if pile else Bus()
        self.station = station or Station(config.defaults(), self.bus, version="9.9.9")
        if pile:
            self.station.attach(pile=self.rig.pile)
        self.srv = maint.console_server(self.station)
        self.c = FakeConsole()
        self.task = asyncio.create_task(self.srv.serve(self.c))

    async def quiet(self):
        """Until the input is consumed and nothing more came out for 10 ms."""
        quiet, last = 0, -1
        while quiet < 10:
            await asyncio.sleep_ms(1)
            if self.c.inp or len(self.c.writes) != last:
                quiet, last = 0, len(self.c.writes)
            else:
                quiet += 1

    async def writes(self, data):
        """Each write the console got in answer to `data` (bytes), as text."""
        self.c.out = []
        self.c.writes = []
        self.c.feed(data)
        await self.quiet()
        return self.c.out

    async def raw(self, data):
        return "".join(await self.writes(data))

    async def cmd(self, line, tag="t1"):
        """The reply texts to one marked command, checking the framing: one write per
        line, each `<RS>=<tag>+ ` but the last, `<RS>=<tag>. `, and CR LF at the end."""
        out = await self.writes(("\n%s#%s %s\r\n" % (RS, tag, line)).encode())
        texts = []
        for i, l in enumerate(out):
            want = "%s=%s%s " % (RS, tag, "." if i == len(out) - 1 else "+")
            assert l.startswith(want) and l.endswith("\r\n") and l.count("\n") == 1, (want, l[:40])
            texts.append(l[len(want):-2])
        return texts

    async def close(self):
        self.c.closed = True
        self.c.ev.set()
        await asyncio.sleep_ms(5)
        self.task.cancel()


async def test_marked_commands_get_framed_replies_with_the_host_tag():
    p = Con()
    assert await p.cmd("status", tag="a7") == ["ok version=9.9.9 ports=2 idle=1 1=Available 2=Available"]
    p.rig.plant.ports[0].plug(physics.Bike(cc_w=300))
    r = await p.cmd("start 1 time 30 card-7", tag="Z9")
    assert r[0].startswith("ok id=") and "port=1" in r[0]
    p.rig.run(10)
    assert (await p.cmd("info 1", tag="12345678"))[0].startswith("ok port=1 status=Charging")
    # a multi-line reply: `+` on every line but the last, which has `.`
    await p.cmd("stop 1")
    r = await p.cmd("bills")
    assert r[0] == "ok bills more=1" and len(r) == 2 and "reason=Local" in r[1]
    assert p.srv.lines == 5
    await p.close()


async def test_the_commands_load_with_the_first_marked_line_not_at_boot():
    # the console server waits all boot long for a host tool: its commands' code is not in
    # the heap until one asks (1.1 KB on the bench's 32-bit frozen build)
    sys.modules.pop("firmware.proto.maint.commands", None)
    p = Con()
    assert await p.raw(b"status\r\nhello\r\n") == ""  # unmarked: not a command
    assert "firmware.proto.maint.commands" not in sys.modules and p.srv.table is None
    assert (await p.cmd("status"))[0].startswith("ok version=9.9.9")
    assert "firmware.proto.maint.commands" in sys.modules and "status" in p.srv.table
    await p.close()


async def test_unmarked_lines_and_noise_are_never_answered():
    p = Con()
    # what a human types at a running pile, a REPL habit, log-like lines, raw noise, over-long
    # junk, half a marker, the marker later in a line, and control bytes mpremote might send
    for junk in (b"status\r\n", b"print(1)\r", b"1700000000 I app: hello\n", b"\xff\xfe\x00garbage\r\n",
                 b"x" * 500 + b"\n", b"\x1e status\r\n", b"#t1 status\r\n", b"abc\x1e#t1 status\r\n",
                 b"\x01\x02\x04\x05\r\n", b"\r\n\r\n"):
        assert await p.raw(junk) == "", junk
    assert p.srv.lines == 0 and not p.task.done()
    # and the port still answers a command right behind the noise, in the same chunk
    out = await p.raw(b"garbage without end" + b"\n\x1e#k2 help\r\n")
    assert out.startswith(RS + "=k2. ok ack avail bills") and out.endswith("\r\n"), out
    await p.close()


async def test_bad_marked_lines_get_a_framed_err():
    p = Con()
    cases = [
        (b"\x1e#\r\n", RS + "=-. err bad_tag 1-8 letters or digits after the marker, then a space"),
        (b"\x1e#t!x status\r\n", RS + "=-. err bad_tag 1-8 letters or digits after the marker, then a space"),
        (b"\x1e#123456789 status\r\n", RS + "=-. err bad_tag 1-8 letters or digits after the marker, then a space"),
        (b"\x1e#t3\r\n", RS + "=t3. err bad_args no command (try help)"),
        (b"\x1e#t3    \r\n", RS + "=t3. err bad_args no command (try help)"),
        (b"\x1e#t4 sta\x1btus\r\n", RS + "=t4. err bad_line not printable ASCII"),
        (b"\x1e#t5 status " + b"y" * 200 + b"\r\n", RS + "=t5. err too_long max 128 bytes"),
        (b"\x1e#t6 reboot\r\n", RS + "=t6. err unknown_command reboot (try help)"),
        (b"\x1e#t7 start 9 money 5\r\n", RS + "=t7. err no_such_port start"),
    ]
    for line, want in cases:
        assert await p.raw(line) == want + "\r\n", (line, await p.raw(line))
    # exactly 128 bytes of command is a command; 129 is not
    assert (await p.raw(b"\x1e#t8 help" + b" " * 124 + b"\r\n")).startswith(RS + "=t8. ok ack")
    assert await p.raw(b"\x1e#t9 help" + b" " * 125 + b"\r\n") == RS + "=t9. err too_long max 128 bytes\r\n"
    await p.close()


async def test_no_events_on_the_console():
    p = Con()
    p.rig.plant.ports[1].plug(physics.Bike(cc_w=400))
    await p.cmd("start 2 energy 5")
    assert p.rig.run(300, until=p.rig.pile.is_idle)  # started, charging, billed, finished
    assert len(p.rig.events) > 4  # the bus carried them...
    await p.quiet()
    assert not p.c.evt and p.srv.sub is None  # ...the console got none
    await p.close()


async def test_bills_json_lists_every_field_and_the_pending_count():
    p = Con()
    for port in (1, 2):
        p.rig.plant.ports[port - 1].plug(physics.Bike(cc_w=300))
        await p.cmd("start %d money 50 tag%d" % (port, port))
    p.rig.run(20)
    for port in (1, 2):
        await p.cmd("stop %d" % port)
    r = await p.cmd("bills json")
    assert r[0] == "ok bills pending=2 more=2", r
    bills = [json.loads(line[3:]) for line in r[1:]]
    assert [b["id_tag"] for b in bills] == ["tag1", "tag2"]
    for b in bills:
        assert b["reason"] == "Local" and b["cause"] == "service" and b["energy_mwh"] > 1000
        assert b["kind"] == "money" and b["fen"] + b["refund"] == 50 and b["charged_s"] > 0
        assert b["meter_stop"] - b["meter_start"] == (b["meter_stop_mwh"] - b["meter_start_mwh"]) // 1000 >= 1
    await p.cmd("ack %d" % bills[0]["id"])
    assert (await p.cmd("bills json"))[0] == "ok bills pending=1 more=1"
    assert await p.cmd("bills json now") == ["err bad_args usage: bills [json]"]
    await p.close()
    q = Con(pile=False)
    assert await q.cmd("bills json") == ["err no_pile charging is not running"]
    await q.close()


def _doc(reply):
    """The JSON document of a `status json` reply: its streamed pieces joined."""
    return json.loads("".join(line[5:] for line in reply[1:-1]))


def _devcode():
    """tools/upile/devcode.py: the host's raw-REPL code (plain strings, imports nothing)."""
    for p in sys.path:
        try:
            os.stat(p + "/tools/upile/devcode.py")
        except OSError:
            continue
        if p + "/tools/upile" not in sys.path:
            sys.path.append(p + "/tools/upile")
        import devcode

        return devcode
    raise ImportError("tools/upile/devcode.py not found on sys.path")


def _fallback_status():
    """What the raw-REPL fallback of `upile status` prints, run here with the app alive."""
    out = []
    exec(_devcode().STATUS, {"print": out.append, "__name__": "devcode"})
    return json.loads(out[-1])


async def test_status_json_has_the_fallbacks_keys_in_short_pieces():
    from firmware import diag

    p = Con()
    diag.register("ports", lambda: [p.rig.pile.info(i + 1) for i in range(2)])
    diag.register("bills", lambda: {"pending": p.station.bills_pending()})
    try:
        p.rig.plant.ports[0].plug(physics.Bike(cc_w=300))
        sid = int((await p.cmd("start 1 full"))[0].split()[1][3:])
        p.rig.run(10)
        r = await p.cmd("status json")
        assert r[0] == "ok json stream=1" and r[-1] == "ok end n=%d" % (len(r) - 2) and len(r) > 3, (r[0], r[-1])
        assert all(l.startswith("ok | ") and len(l) <= 5 + 200 for l in r[1:-1])  # no line holds the loop long
        assert max(p.c.writes) <= 3 + 8 + 2 + 5 + 200 + 2  # one write per framed line
        st = _doc(r)
        fb = _fallback_status()
        assert sorted(st) == sorted(fb), (sorted(st), sorted(fb))
        for k in ("micropython", "running_slot", "ota", "slots", "ota_events"):
            assert st[k] == fb[k], (k, st[k], fb[k])
        # (reset_cause: the Unix port has no machine.reset_cause; the sim board's host test compares it)
        assert st["reset_cause"] == "power-on"
        assert st["version"] == "9.9.9" and st["flash"]["total"] == fb["flash"]["total"]
        assert st["heap"]["free"] > 0 and st["heap"]["used"] > 0
        assert sorted(st["live"]) == sorted(fb["live"]) == ["bills", "ports"]
        port1 = st["live"]["ports"][0]
        assert port1["status"] == "Charging" and port1["id"] == sid and port1["kind"] == "full"
        assert st["live"]["bills"] == {"pending": 0}
    finally:
        diag.unregister("ports")
        diag.unregister("bills")
    await p.close()


async def test_status_json_reports_a_broken_part_and_the_rest():
    from firmware import diag

    def broken():
        raise OSError(5)

    diag.register("net", broken)
    try:
        p = Con(pile=False)
        st = _doc(await p.cmd("status json"))
        assert st["live"]["net"]["error"].startswith("OSError: ") and st["version"] == "9.9.9"
        assert st["flash"]["total"] > 0 and "micropython" in st
    finally:
        diag.unregister("net")
    await p.close()


def _ring(lines, ring_bytes):
    d = TMP + "/ring%d" % ring_bytes
    log.enable_ring(d, ring_bytes)
    lg = log.get("tst")
    for i in range(lines):
        lg.warn("line %d of the ring %s", i, "\u00e9" if i % 7 == 0 else "")
    log.flush()
    return d


class LogStation(Station):
    def __init__(self, directory, **kw):
        super().__init__(config.defaults(), Bus(), version="9.9.9", **kw)
        self.dir = directory

    def log_lines(self, directory=None):
        return Station.log_lines(self, self.dir)


async def test_logs_stream_the_ring_oldest_first_while_the_pile_runs_on():
    d = _ring(120, 2048)  # log.1 and log.0, the oldest lines rotated away
    want = []
    for name in ("log.1", "log.0"):
        with open(d + "/" + name) as f:
            want += [l.rstrip("\n") for l in f]
    p = Con(pile=False, station=LogStation(d))
    ticks = [0]

    async def control_loop():  # another task of the app: it must keep running meanwhile
        while True:
            ticks[0] += 1
            await asyncio.sleep_ms(0)

    t = asyncio.create_task(control_loop())
    r = await p.cmd("logs")
    t.cancel()
    assert r[0] == "ok logs stream=1" and r[-1] == "ok end n=%d" % len(want), (r[0], r[-1])
    got = [l[5:] for l in r[1:-1]]
    assert got == want and all(l.startswith("ok | ") for l in r[1:-1])
    nums = [int(l.split("line ")[1].split()[0]) for l in got if " tst: line " in l]
    assert nums == sorted(nums) and nums[-1] == 119 and nums[0] > 0  # bounded ring, newest kept
    assert ticks[0] >= len(want)  # the control loop ran between the lines
    assert "\u00e9" in "".join(got)  # UTF-8 text goes through as it is
    # `status json` finds the last OTA/boot lines in the same ring
    log.get("ota").info("OTA Confirmed v=2.0 slot=b")
    st = _doc(await p.cmd("status json"))
    assert st["ota_events"][-1].endswith("ota: OTA Confirmed v=2.0 slot=b"), st["ota_events"]
    await p.close()


async def test_an_empty_ring_and_a_reader_that_fails_half_way_end_the_reply():
    p = Con(pile=False, station=LogStation(TMP + "/nolog"))
    assert await p.cmd("logs") == ["ok logs stream=1", "ok end n=0"]
    await p.close()

    def failing(directory=None):
        yield "first"
        yield "second"
        raise OSError(5)

    st = LogStation(TMP + "/nolog")
    st.log_lines = failing
    p = Con(pile=False, station=st)
    assert await p.cmd("logs") == ["ok logs stream=1", "ok | first", "ok | second", "err failed logs after 2 lines"]
    assert not p.task.done() and (await p.cmd("status"))[0].startswith("ok version=9.9.9")
    await p.close()
