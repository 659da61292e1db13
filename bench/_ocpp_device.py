# Runs under micropython (bench/ocpp.py starts it, argv: the bench CSMS's ws:// URL, a data
# folder): the OCPP layer's heap over the real pile (10 ports on the fake board of the sim
# physics, fake clock), connected over a real WebSocket to the bench CSMS; then the bytes one
# session costs. Prints "FIG <name> <value>" lines.
import asyncio
import gc
import sys
import time

# this script's folder holds bench/websocket.py (another benchmark): not the library
sys.path[:] = [p for p in sys.path if not p.endswith("bench")]
# the frozen build also holds the sim chip's socket (it gates on the sim's radio links):
# this bench talks to the CSMS straight over the host's loopback
import usocket  # noqa: E402

sys.modules["socket"] = usocket
gc.collect()
base0 = gc.mem_alloc()
from chgsim import Rig, physics  # noqa: E402
from firmware.station import Station  # noqa: E402

URL, DATA = sys.argv[1], sys.argv[2]
rig = Rig(n=10, keep=8)
rig.wall = 1748764800
cfg = rig.cfg
cfg["charging"]["sample_s"] = 10
st = Station(cfg, rig.bus)
st.attach(pile=rig.pile)
gc.collect()
base = gc.mem_alloc()
print("FIG pile_and_test_rig %d" % (base - base0))
# what 10 charging sessions cost the pile itself (subtracted from the OCPP figures below)
for i in range(10):
    rig.plant.ports[i].plug(physics.Bike(capacity_wh=50000))
    st.start(i + 1, "full", 0, "pre-%d" % (i + 1), "card")
rig.run(30)
gc.collect()
sessions = gc.mem_alloc() - base
print("FIG pile_sessions %d" % sessions)
for i in range(10):
    st.stop(i + 1, "Local", "bench")
    st.ack_bill(i + 1)
rig.run(5)
gc.collect()
base = gc.mem_alloc()
from firmware.proto.ocpp import cp as cpmod  # noqa: E402
from firmware.proto.ocpp import auth, boot, conn, dt, ids, meter, rpc, rules, status, tx, txq, validate  # noqa: E402,F401
from firmware.proto.ocpp import schemas  # noqa: E402,F401
import websocket  # noqa: E402,F401
import wsconn  # noqa: E402,F401
import netconn  # noqa: E402,F401

gc.collect()
mods = gc.mem_alloc() - base
print("FIG ocpp_modules %d" % mods)
cfg["backend"]["protocol"] = "ocpp"
cfg["ocpp"].update({"url": URL, "id": "BENCH", "sampled_data": ",".join(rules.MEASURANDS)})


def live():
    gc.collect()
    return gc.mem_alloc() - base


async def main():
    cp = cpmod.Cp(cfg, st, rig.bus, data=DATA)
    tasks = [asyncio.create_task(f(lambda: None)) for f in (cp.run_conn, cp.run_events, cp.run_sender)]
    for _ in range(400):
        await asyncio.sleep_ms(25)
        if cp.accepted.is_set() and not cp.status.dirty:
            break
    if not cp.accepted.is_set():
        print("FIG error not_booted")
        return
    await asyncio.sleep_ms(200)
    idle = live()
    print("FIG idle %d" % idle)
    peak = peak_raw = idle
    for i in range(10):
        rig.plant.ports[i].plug(physics.Bike(capacity_wh=50000))
        st.start(i + 1, "full", 0, "bench-%d" % (i + 1), "card")
    t_end = time.ticks_add(time.ticks_ms(), 30000)
    steps = 0
    while time.ticks_diff(t_end, time.ticks_ms()) > 0 and steps < 600:
        rig.run(1)
        steps += 1
        for _ in range(3):
            peak_raw = max(peak_raw, gc.mem_alloc() - base)
            await asyncio.sleep_ms(2)
        peak = max(peak, live())
    q = cp.txq
    for _ in range(300):
        if q.head() is None:
            break
        await asyncio.sleep_ms(20)
    print("FIG charging_live %d" % live())
    print("FIG peak_live %d" % peak)
    print("FIG peak_raw %d" % peak_raw)
    print("FIG tx_sent %d" % cp.tx.sent)
    print("FIG sim_seconds %d" % steps)
    for i in range(10):
        st.stop(i + 1, "Local", "bench")
    rig.run(2)
    for _ in range(300):
        await asyncio.sleep_ms(20)
        if q.head() is None and not st.pending_bills():
            break
    # bytes one session costs: default intervals (a sample every 60 s, the register only), 1 hour
    cfg["charging"]["sample_s"] = 60
    cfg["ocpp"]["sampled_data"] = "Energy.Active.Import.Register"
    await asyncio.sleep_ms(200)
    b0 = cp.rpc.tx_bytes + cp.rpc.rx_bytes
    n0 = cp.tx.sent
    st.start(1, "full", 0, "bench-session", "card")
    for k in range(3600):
        rig.run(1)
        if k % 60 == 0:
            await asyncio.sleep_ms(5)
    st.stop(1, "Local", "bench")
    rig.run(2)
    for _ in range(300):
        await asyncio.sleep_ms(20)
        if q.head() is None and not cp.status.dirty and not st.pending_bills():
            break
    await asyncio.sleep_ms(100)
    print("FIG session_bytes %d" % (cp.rpc.tx_bytes + cp.rpc.rx_bytes - b0))
    print("FIG session_messages %d" % (cp.tx.sent - n0))
    b1 = cp.rpc.tx_bytes + cp.rpc.rx_bytes
    await cp.boot.heartbeat()
    print("FIG heartbeat_bytes %d" % (cp.rpc.tx_bytes + cp.rpc.rx_bytes - b1))
    for t in tasks:
        t.cancel()


asyncio.run(main())
print("FIG done 1")
