# Runs under micropython with the app's compiled modules (bench/dny.py starts it and plays the
# back end with `upile dny-server`): the DNY layer's heap, and its traffic.
# argv: mode (control | dny), server port, scale (intervals divided by it; 1 = the real ones)
import asyncio
import gc
import sys
import time

from chgsim import Rig, physics
from dnypile import Net
from firmware.station import Station

mode, port, scale = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
N = 10


def heap():
    gc.collect()
    return gc.mem_alloc()


async def drive(r):
    while True:  # the pile's control loop: 1 s of its clock every 20 ms
        r.clock.advance(1000)
        r.wall += 1
        r.pile.step()
        await asyncio.sleep_ms(20)


async def wait(cond, ms=60000):
    end = time.ticks_add(time.ticks_ms(), ms)
    while time.ticks_diff(end, time.ticks_ms()) > 0:
        if cond():
            return True
        await asyncio.sleep_ms(20)
    raise AssertionError("timed out")


async def main():
    r = Rig(n=N, step_ms=1000, keep=4)
    for i in range(N):
        r.plant.ports[i].plug(physics.Bike(cc_w=150.0 + 10 * i, capacity_wh=50000))
    cfg = r.cfg
    cfg["backend"].update(host="127.0.0.1", port=port, protocol="dny")
    d = cfg["dny"]
    d["number"] = 13544000
    d["iccid"] = "898604D9162390488297"
    for k in ("heartbeat_s", "time_s", "retry_s", "host_s", "report_s"):
        d[k] = max(1, d[k] // scale)
    for k in ("link_idle_ms", "gap_ms", "settle_delay_ms"):
        d[k] = d[k] // scale
    r.wall = 1750000000
    st = Station(cfg, r.bus, version="1.0.0")
    st.attach(pile=r.pile, net=Net())
    t = asyncio.create_task(drive(r))
    await asyncio.sleep_ms(200)
    base = heap()
    if mode == "control":  # the same ten sessions without DNY: what charging itself holds
        for i in range(N):
            st.start(i + 1, "time", 600, None, "remote", None, "%032x" % i)
        await asyncio.sleep_ms(3000)
        print("heap_charging_only", heap() - base)
        t.cancel()
        return
    from firmware.proto import dny
    from firmware.proto.dny import session  # noqa: F401 (its code and what it imports)

    print("heap_dny_code", heap() - base)
    cli = dny.client(st, r.bus)
    run = asyncio.create_task(cli.run())
    await wait(lambda: cli.online and cli.time_ok and cli.link.frames_out >= 6)
    await asyncio.sleep_ms(500)
    print("heap_dny_idle", heap() - base)
    print("READY")  # the bench starts ten orders through the server
    await wait(lambda: all(st.port(i + 1).get("id") for i in range(N)), 120000)
    await wait(lambda: cli.charge.reports >= 2 * N, 120000)
    print("heap_dny_charging", heap() - base)
    print("CHARGING")
    await asyncio.sleep_ms(3600 * 1000 // scale)  # an hour of the pile's traffic at this scale
    print("DONE frames_out %d resends %d" % (cli.link.frames_out, cli.link.resends))
    run.cancel()
    t.cancel()


asyncio.run(main())
