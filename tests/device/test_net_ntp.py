# Our async SNTP client (firmware/net/ntp.py) against an NTP server task in this same
# micropython process (UDP on 127.0.0.1), and the time-source bookkeeping (timesync.py).
import asyncio
import os
import socket
import struct
import time

from firmware.net import ntp
from firmware.net.timesync import TimeSync, unix_from_utc

_DELTA = 2208988800
TRUE_UNIX = unix_from_utc(2025, 6, 1, 12, 0, 0) + 0.75


class Server:
    """mode: good | silent | short | garbage | kod | stale | wrong_mode; delay_ms before replying."""

    def __init__(self, mode="good", delay_ms=0):
        self.mode = mode
        self.delay_ms = delay_ms
        self.requests = 0
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        while True:
            self.port = 20000 + int.from_bytes(os.urandom(2), "little") % 40000
            try:
                self.s.bind(socket.getaddrinfo("127.0.0.1", self.port)[0][-1])
                break
            except OSError:
                continue
        self.s.setblocking(False)
        self.task = asyncio.create_task(self.run())

    def reply(self, req):
        m = self.mode
        if m == "short":
            return b"\x24\x02" + bytes(10)
        if m == "garbage":
            return os.urandom(48)
        out = bytearray(48)
        out[0] = (0 << 6) | (4 << 3) | (3 if m == "wrong_mode" else 4)
        out[1] = 0 if m == "kod" else 2
        secs = TRUE_UNIX + _DELTA
        struct.pack_into("!II", out, 32, int(secs), int((secs % 1) * 4294967296))
        struct.pack_into("!II", out, 40, int(secs), int((secs % 1) * 4294967296))
        out[24:32] = bytes(8) if m == "stale" else req[40:48]  # originate = client's transmit
        return out

    async def run(self):
        while True:
            try:
                req, addr = self.s.recvfrom(64)
            except OSError:
                await asyncio.sleep_ms(5)
                continue
            self.requests += 1
            if self.mode == "silent":
                continue
            await asyncio.sleep_ms(self.delay_ms)
            self.s.sendto(self.reply(req), addr)

    def close(self):
        self.task.cancel()
        self.s.close()


async def ticker(stop):
    """Counts event-loop turns and the longest gap between them (a blocked loop shows here)."""
    st = {"turns": 0, "gap": 0}
    last = time.ticks_ms()
    while not stop[0]:
        await asyncio.sleep_ms(5)
        now = time.ticks_ms()
        st["gap"] = max(st["gap"], time.ticks_diff(now, last))
        st["turns"] += 1
        last = now
    return st


async def run_query(mode, timeout_ms=1000, delay_ms=0):
    srv = Server(mode, delay_ms)
    stop = [False]
    tk = asyncio.create_task(ticker(stop))
    try:
        try:
            r = await ntp.query("127.0.0.1", srv.port, timeout_ms)
        except ntp.NtpError as e:
            r = e
    finally:
        stop[0] = True
        st = await tk
        srv.close()
    return r, st, srv.requests


async def test_good_reply_gives_the_servers_time_corrected_by_half_the_round_trip():
    r, st, n = await run_query("good", delay_ms=200)
    assert n == 1
    # the server's clock plus ~half of the 200 ms round trip
    assert TRUE_UNIX + 0.05 <= r <= TRUE_UNIX + 0.2, r - TRUE_UNIX
    assert st["turns"] >= 10  # other tasks ran while the reply was awaited


async def test_silent_server_times_out_without_blocking_the_loop():
    t0 = time.ticks_ms()
    r, st, n = await run_query("silent", timeout_ms=600)
    took = time.ticks_diff(time.ticks_ms(), t0)
    assert isinstance(r, ntp.NtpError) and r.args[0] == "timeout" and n == 1
    assert 600 <= took < 3000
    assert st["turns"] >= 30 and st["gap"] < 300  # the loop kept turning all the while


async def test_bad_replies_are_named():
    for mode, reason in (("short", "short_reply"), ("kod", "bad_reply"), ("wrong_mode", "bad_reply")):
        r, _, _ = await run_query(mode)
        assert isinstance(r, ntp.NtpError) and r.args[0] == reason, (mode, r)
    # a reply that does not echo our request (stale, spoofed, random bytes) is not believed
    for mode in ("stale", "garbage"):
        r, _, _ = await run_query(mode, timeout_ms=400)
        assert isinstance(r, ntp.NtpError) and r.args[0] == "timeout", (mode, r)


async def test_unknown_host_is_a_dns_error():
    try:
        await ntp.query("no-such-host.invalid", 123, 300)
        raise AssertionError("resolved a .invalid name")
    except ntp.NtpError as e:
        assert e.args[0] == "dns"


async def test_sync_sets_the_rtc_and_records_the_source():
    rtc = []
    ts = TimeSync(rtc.append)
    srv = Server("good")
    try:
        assert await ntp.sync(ts, "127.0.0.1", srv.port, 1000) is True
        srv.mode = "kod"
        assert await ntp.sync(ts, "127.0.0.1", srv.port, 1000) is False
    finally:
        srv.close()
    assert rtc == [int(TRUE_UNIX + 0.5)]  # the failed query left the clock alone
    st = ts.status()
    assert st["source"] == "ntp" and st["last_sync"] == rtc[0] and st["ntp_error"] == "bad_reply"
    assert ts.synced() and abs(ts.now() - rtc[0]) <= 1


def test_first_source_wins_and_ntp_is_not_stepped_by_the_modem():
    rtc = []
    t = unix_from_utc(2025, 6, 1, 12, 0, 0)
    ts = TimeSync(rtc.append, ntp_hold_ms=300)
    assert not ts.synced() and ts.now() is None
    assert ts.set("modem", unix_from_utc(2000, 1, 1, 0, 0, 5)) is False  # module without network time
    assert ts.set("modem", t) is True and ts.source == "modem"  # modem first: it sets the clock
    assert ts.set("ntp", t + 2) is True and ts.source == "ntp"  # NTP refreshes it
    assert ts.set("modem", t + 40) is False and ts.source == "ntp"  # whole-second modem time waits
    time.sleep_ms(350)
    assert ts.set("modem", t + 41) is True and ts.source == "modem"  # NTP gone quiet: modem keeps it set
    assert rtc == [t, t + 2, t + 41] and ts.syncs == 3


def test_last_sync_is_remembered_across_a_reboot():
    p = os.getenv("UPILE_TMP") + "/data/net/time.json"
    t = unix_from_utc(2025, 6, 1, 12, 0, 0)
    ts = TimeSync(None, path=p)
    assert ts.status()["last_source"] is None
    ts.set("modem", t)
    ts2 = TimeSync(None, path=p)  # reboot
    st = ts2.status()
    assert (st["last_source"], st["last_unix"]) == ("modem", t)
    assert not ts2.synced() and st["source"] is None  # this boot has not synced yet
    with open(p, "wb") as f:
        f.write(b"\x00garbage")
    assert TimeSync(None, path=p).status()["last_source"] is None
