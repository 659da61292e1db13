"""The DNY session's schedule (docs/dny.md, sheet section 3), one connection at a time:
register 0x20 at once and every heartbeat period until answered (again whenever its fields
differ from the answered ones), heartbeat 0x21 every `heartbeat_s` (two unanswered in a row:
offline, said on the bus, the connection dropped; the legacy 0x01 at power-up for servers
that answer only it), time 0x22 until answered (every `retry_s`) then every `time_s`, the
host frames 0x11 (every `host_s`), 0x12 and 0x35 (once per connection; 0x05 when an
interrupted in-band update waits), `link` after `link_idle_ms` of silence, 0x06 reports,
settlements 0x03 (settle.py), alarms 0x42. run(cli, beat) is the connection's job loop.
"""
import asyncio
import time

import log
from firmware.proto.dny import frame, status
from firmware.station import Refused

_log = log.get("dny")
_TICK = 100  # ms between two looks at the schedule
_OFFLINE = 2  # unanswered heartbeats in a row: offline (the pile's own rule, [V])
_LEGACY_01 = 3  # legacy heartbeats 0x01 at power-up when 0x21 is not answered ([V])


def _due(at, now):
    return at is not None and time.ticks_diff(now, at) >= 0


async def run(cli, beat):
    busy = {}

    def job(name, coro):
        if not busy.get(name):
            busy[name] = True

            async def one():
                try:
                    await coro
                finally:
                    busy[name] = False

            cli.spawn(one())
        else:
            coro.close()

    job("host", _host(cli))  # the module's host frames first, as real sockets do
    while True:
        if beat:
            beat()
        now = time.ticks_ms()
        c = cli.c
        if cli.link.idle_ms() >= c["link_idle_ms"]:
            try:
                await cli.link.keepalive()
            except OSError:
                pass
        if _due(cli.reg_at, now):
            cli.reg_at = time.ticks_add(now, c["heartbeat_s"] * 1000)
            reg = status.register(cli)
            if reg != cli.reg_ok:  # until answered, and again when a field changes
                job("reg", _register(cli, reg))
        if cli.hb_at is None or _due(cli.hb_at, now):
            cli.hb_at = time.ticks_add(now, c["heartbeat_s"] * 1000)
            job("hb", _heartbeat(cli))
        if _due(cli.time_at, now):
            cli.time_at = time.ticks_add(now, c["retry_s"] * 1000)
            job("time", _time(cli))
        if _due(cli.host_at, now) and cli.connects and busy.get("host") is False:
            cli.host_at = time.ticks_add(now, c["host_s"] * 1000)
            job("host", _host_beat(cli))
        if cli.settle.due(now):
            job("settle", cli.settle.send_one())
        for i in cli.charge.due(now):
            d = cli.charge.report(i)
            if d is not None:
                cli.spawn(_send(cli, 0x06, d))
        while cli.alarms:
            cli.spawn(_send(cli, 0x42, cli.alarms.pop(0)))
        if cli.ota is not None:
            cli.ota.tick(now)
        await asyncio.sleep_ms(_TICK)


async def _send(cli, cmd, data):
    """A frame the server does not answer (0x06, 0x42, 0x05): sent once."""
    try:
        await cli.link.send(frame.encode(cli.phys, cli.link.next_id(), cmd, data))
    except OSError:
        pass


def _online(cli):
    cli._answered[0] = True
    cli.misses = 0
    cli._count(True)
    if not cli.online:
        cli.online = True
        _log.info("online: the server answers")
        cli.st.backend_state(True, "dny")


async def _register(cli, data):
    r = await cli.link.request(0x20, data)
    if r is not None:
        cli.reg_ok = data
        _online(cli)


async def _heartbeat(cli):
    r = await cli.link.request(0x01 if cli.legacy else 0x21, status.heartbeat01(cli) if cli.legacy
                                else status.heartbeat(cli))
    if r is not None and not cli.legacy:
        cli.hb21_ok = True
    if r is None and not cli.hb21_ok and not cli.legacy and cli.sent01 < _LEGACY_01:
        cli.sent01 += 1  # an old server may answer only the legacy heartbeat
        r = await cli.link.request(0x01, status.heartbeat01(cli))
        if r is not None:
            cli.legacy = True
            _log.info("the server answers the legacy heartbeat 0x01: sending 0x01 from now on")
    if r is not None:
        _online(cli)
        return
    cli.misses += 1
    cli._count(False)
    _log.info("heartbeat unanswered (%d in a row)", cli.misses)
    if cli.misses >= _OFFLINE:
        if cli.online:
            cli.online = False
            cli.st.backend_state(False, "dny", "%d heartbeats unanswered" % cli.misses)
            _log.warn("offline: %d heartbeats unanswered", cli.misses)
        cli.drop("%d heartbeats unanswered" % cli.misses)


def _set_time(cli, r, what):
    t = frame.u32(r, 0) if r else None
    if not t:
        return False
    try:
        done = cli.st.set_time("dny", t)
    except Refused:
        done = False
    _log.info("time %d from the server (%s)%s", t, what, "" if done else ": clock kept (a better source)")
    return True


async def _time(cli):
    if _set_time(cli, await cli.link.request(0x22), "0x22"):
        cli.time_ok = True
        cli.time_at = time.ticks_add(time.ticks_ms(), cli.c["time_s"] * 1000)
        _online(cli)


async def _host(cli):
    """Once per connection: host heartbeat 0x11, host time 0x12, versions 0x35."""
    await _host_beat(cli)
    _set_time(cli, await cli.link.request(0x12, b"", True), "0x12")
    try:
        await cli.link.send(frame.encode(cli.phys, cli.link.next_id(True), 0x35, status.versions(cli)))
    except OSError:
        pass
    if cli.st.update_status().get("push") == "interrupted":
        # an in-band update a power cut interrupted: "wants upgrade", so the server pushes
        # it again (what was written is acknowledged, not written again)
        d = bytearray(7)
        d[0] = cli.dtype
        frame.put16(d, 1, cli.fw)
        await _send(cli, 0x05, bytes(d))


async def _host_beat(cli):
    cli.host_at = time.ticks_add(time.ticks_ms(), cli.c["host_s"] * 1000)
    try:
        await cli.link.send(frame.encode(cli.phys, cli.link.next_id(True), 0x11, status.host_heartbeat(cli)))
    except OSError:
        pass
