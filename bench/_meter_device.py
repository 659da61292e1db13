# Runs inside micropython: parse cost and heap allocated per frame for each metering-IC
# parser, on loaded frames and on the no-load frames the chips send with nothing plugged.
import gc
import time
import frames
from firmware.meter.hlw8032 import HLW8032
from firmware.meter.bl0942 import BL0942
from firmware.meter.bl0939 import BL0939

N = 2000


def run(name, parser, stream):
    ln = len(stream) // 4
    bufs = [stream[k * ln:(k + 1) * ln] for k in range(4)]
    for b in bufs:  # warm up (arming, scale caches)
        parser.feed(b, ln)
    gc.collect()
    gc.disable()
    a0 = gc.mem_alloc()
    t0 = time.ticks_us()
    for k in range(N):
        parser.feed(bufs[k & 3], ln)
    us = time.ticks_diff(time.ticks_us(), t0)
    a1 = gc.mem_alloc()
    gc.enable()
    print("%-32s %6.1f us/frame %5.2f us/byte  %4d bytes allocated per frame" % (name, us / N, us / N / ln, (a1 - a0) // N))


h = frames.HLW8032Enc()
run("hlw8032 loaded (0x55)", HLW8032(), b"".join(h.frame(220.0, 1.4, 300.0, k * 0.01) for k in range(4)))
run("hlw8032 no load (0xF2)", HLW8032(), b"".join(h.frame(220.0, 0.0, 0.0, 1.0) for k in range(4)))
run("hlw8032 no mains (0xFA)", HLW8032(), b"".join(h.frame(0.0, 0.0, 0.0, 1.0) for k in range(4)))
b2 = frames.BL0942Enc()
run("bl0942 loaded", BL0942(), b"".join(b2.frame(220.0, 1.4, 300.0, k * 0.5) for k in range(4)))
run("bl0942 creep", BL0942(), b"".join(b2.frame(220.0, 0.0, 0.0, 1.0) for k in range(4)))
b9 = frames.BL0939Enc()
run("bl0939 one loaded, one creep", BL0939(), b"".join(b9.frame(220.0, (1.4, 300.0, k * 0.5), (0, 0, 0)) for k in range(4)))
