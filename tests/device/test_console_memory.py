# heapsize: 112K
# The console channel's reads in a heap near a small ESP32's (~100 KiB; these modules compile
# from source here, which a board's .mpy files do not: station.py's parse alone no longer fits
# 96K since the back-end protocols' calls joined it): the whole log ring (two 8 KiB files,
# the app's default) is streamed a line at a time and `status json` goes out in short
# pieces made one value at a time, so the heap they take does not grow with what they send.
import asyncio
import gc
import os

import log
from firmware.bus import Bus
from firmware.proto import maint
from firmware.station import Station

TMP = os.getenv("UPILE_TMP")
CFG = {"pile": {"id": "PILE-7", "product": "upile"}}


class CountingConsole:
    """Keeps only counts and the heap in use after each written line (a host would read it)."""

    def __init__(self, data):
        self.inp = bytearray(data)
        self.lines = 0
        self.bytes = 0
        self.longest = 0
        self.peak = 0
        self.last = b""

    async def read(self, n):
        if not self.inp:
            return b""
        out = bytes(self.inp[:n])
        self.inp = self.inp[n:]
        return out

    def write(self, b):
        self.lines += 1
        self.bytes += len(b)
        self.longest = max(self.longest, len(b))
        self.last = bytes(b[:40])
        gc.collect()
        self.peak = max(self.peak, gc.mem_alloc())

    async def drain(self):
        await asyncio.sleep_ms(0)


class RingStation(Station):
    def log_lines(self, directory=None):
        return Station.log_lines(self, TMP + "/ring")


async def _serve(station, command):
    c = CountingConsole(b"\x1e#m1 " + command + b"\r\n")
    srv = maint.console_server(station)
    from firmware.proto.maint.commands import TABLE  # noqa: F401 (loaded by the first command: not what is measured)

    gc.collect()
    base = gc.mem_alloc()
    await srv.serve(c)
    return c, base


async def test_the_whole_log_ring_streams_in_a_small_heap():
    log.enable_ring(TMP + "/ring", 8192)
    lg = log.get("mem")
    i = 0
    while True:  # fill both files of the ring: log.1 full, log.0 nearly
        lg.warn("line %d of a ring as the app keeps it, about eighty bytes long....", i)
        i += 1
        try:
            if os.stat(TMP + "/ring/log.1")[6] > 8000 and os.stat(TMP + "/ring/log.0")[6] > 7000:
                break
        except OSError:
            pass
    log.flush()
    size = os.stat(TMP + "/ring/log.1")[6] + os.stat(TMP + "/ring/log.0")[6]
    c, base = await _serve(RingStation(CFG, Bus(), version="1.0"), b"logs")
    assert c.last.startswith(b"\x1e=m1. ok end n=")
    n = int(c.last.split(b"n=")[1].split(b"\r")[0])
    assert n > 150 and c.lines == n + 2 and c.bytes > size  # every line of the 15+ KiB ring went out
    assert c.peak - base < 3000, (c.peak - base, size)  # the heap it took: a few lines, not the ring


PORT = {"status": "Charging", "fault": None, "error": "NoError", "p_w": 312, "v_dv": 2203, "i_ma": 1412, "pf": 0.99,
        "meter_wh": 1234, "meter_mwh": 1234567, "limit_w": None, "available": True, "id": 17, "kind": "time",
        "amount": 60, "id_tag": "app-1", "method": "remote", "mwh": 8123, "charged_s": 95, "fen": 12, "tier": 0}


async def test_status_json_goes_out_in_short_pieces_in_a_small_heap():
    from firmware import diag

    st = RingStation(CFG, Bus(), version="1.0")
    await _serve(st, b"status json")  # firmware.diag and json loaded: what stays is not the reply's
    for n in (1, 16):  # the heap it takes does not grow with the document
        ports = [PORT] * n  # the live parts exist in the app anyway: what the reply adds is measured
        part = {"x%d" % i: "y" * 20 for i in range(2 * n)}
        diag.register("ports", lambda: ports)
        for name in ("station", "tasks", "net", "bills"):
            diag.register(name, lambda: part)
        c, base = await _serve(st, b"status json")
        assert c.last.startswith(b"\x1e=m1. ok end n=") and c.lines >= 3, c.last
        assert c.longest <= 2 + 2 + 2 + 5 + 200 + 2, c.longest  # marker, tag, flag, "ok | ", a piece, CR LF
        if n == 1:
            small = c.peak - base, c.bytes
    big = c.peak - base, c.bytes
    assert big[1] > small[1] + 8000  # a document more than 8 KB longer...
    assert big[0] - small[0] < 1000, (small, big)  # ...takes hardly more heap to send
