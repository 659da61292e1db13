# Runs under micropython (bench/console.py starts it, -X heapsize=96K): what the console
# channel's reads take of the heap. A full log ring (two 8 KiB files, the app's default) is
# streamed by `logs`, and `status json` goes out in pieces; the heap in use is sampled after
# a collection at each written line.
import asyncio
import gc
import os
import time

import log
from firmware.bus import Bus
from firmware.proto import maint
from firmware.station import Station

TMP = os.getenv("UPILE_TMP")


class Counting:
    def __init__(self, data):
        self.inp = bytearray(data)
        self.lines = self.bytes = self.longest = self.peak = 0

    async def read(self, n):
        out = bytes(self.inp[:n])
        self.inp = self.inp[n:]
        return out

    def write(self, b):
        self.lines += 1
        self.bytes += len(b)
        self.longest = max(self.longest, len(b))
        gc.collect()
        self.peak = max(self.peak, gc.mem_alloc())

    async def drain(self):
        await asyncio.sleep_ms(0)


class RingStation(Station):
    def log_lines(self, directory=None):
        return Station.log_lines(self, TMP + "/ring")


async def serve(command):
    st = RingStation({"pile": {"id": "PILE-7", "product": "upile"}}, Bus(), version="1.0")
    c = Counting(b"\x1e#b1 " + command + b"\r\n")
    srv = maint.console_server(st)
    gc.collect()
    base = gc.mem_alloc()
    t0 = time.ticks_us()
    await srv.serve(c)
    return c, c.peak - base, time.ticks_diff(time.ticks_us(), t0)


log.enable_ring(TMP + "/ring", 8192)
lg = log.get("bench")
i = 0
while True:
    lg.warn("line %d of a ring as the app keeps it, about eighty bytes long....", i)
    i += 1
    try:
        if os.stat(TMP + "/ring/log.1")[6] > 8000 and os.stat(TMP + "/ring/log.0")[6] > 7900:
            break
    except OSError:
        pass
log.flush()
ring = os.stat(TMP + "/ring/log.1")[6] + os.stat(TMP + "/ring/log.0")[6]
c, heap, us = asyncio.run(serve(b"logs"))
print("@@ logs: %d-byte ring in %d lines (%d bytes framed), heap taken %d bytes (peak over base, "
      "sampled per line), longest line %d bytes" % (ring, c.lines - 2, c.bytes, heap, c.longest))
# a 10-port pile's live parts, shaped as the app registers them (firmware/app.py)
from firmware import diag  # noqa: E402

PORT = {"status": "Charging", "fault": None, "error": "NoError", "p_w": 312, "v_dv": 2203, "i_ma": 1412, "pf": 0.99,
        "meter_wh": 1234, "meter_mwh": 1234567, "limit_w": None, "available": True, "id": 17, "kind": "time",
        "amount": 60, "id_tag": "app-1", "method": "remote", "mwh": 8123, "charged_s": 95, "fen": 12, "tier": 0}
diag.register("ports", lambda: [PORT] * 10)
diag.register("tasks", lambda: {n: {"state": "running", "crashes": 0, "stalled": False}
                                for n in ("charging", "link", "ntp", "ota", "ota-net", "health", "maint", "console")})
diag.register("station", lambda: {"version": "1.0", "id": "PILE-7", "uptime_s": 86400, "time": 1700000000,
                                  "ports": ["Charging"] * 10, "idle": False, "total_w": 3120, "link": "wlan"})
diag.register("bills", lambda: {"pending": 3})
for n in (1, 2):
    c, heap, us = asyncio.run(serve(b"status json"))
    print("@@ status json of a 10-port pile (%s): %d bytes framed in %d lines, heap taken %d bytes, longest line "
          "%d bytes" % ("first, firmware.diag loaded from source" if n == 1 else "again", c.bytes, c.lines, heap,
                        c.longest))
