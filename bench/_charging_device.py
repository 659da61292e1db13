# Runs under micropython (bench/charging.py starts it): figures of the charging domain.
import gc
import sys
import time
import micropython
from chgsim import Rig, physics, fast_cfg
from firmware.charging.pile import Pile

# 1) over-power latency: from the moment the over-power frame is on the meter line to relay off
r = Rig(n=10, step_ms=100, keep=64)
for i in range(10):
    r.plant.ports[i].plug(physics.Bike(capacity_wh=5000))
    r.pile.start(i + 1, "full")
r.run(5)
enc = r.board.encs[0]
fake_poll = r.board.poll
real_relay = r.board.relay
off_at = [0]


def relay_spy(i, on):
    if not on and not off_at[0]:
        off_at[0] = time.ticks_us()
    real_relay(i, on)


r.board.relay = relay_spy
lat = []
for k in range(20):
    r.plant.ports[0].extra_w = 0.0
    if r.pile.ports[0].session is None:
        r.pile.start(1, "full")
        r.run(3)
    f = enc.frame(220.0, 11.0, 2500.0, r.plant.ports[0].energy_wh)
    r.board.poll = lambda: None  # time the firmware only: frame bytes in, relay out
    off_at[0] = 0
    t0 = time.ticks_us()
    r.board.meters[0].feed(f)
    r.pile.step()
    t1 = off_at[0]
    r.board.poll = fake_poll
    if r.plant.ports[0].relay:
        print("over-power not tripped")
        sys.exit(1)
    lat.append(time.ticks_diff(t1, t0))
lat.sort()
print("over-power frame on the line -> relay off (parse + step): median %d us, max %d us; plus up to one control period (%d ms) and, with the mux, one meter round"
      % (lat[len(lat) // 2], lat[-1], r.cfg["charging"]["period_ms"]))

# 2) CPU time per second of the control loop, 10 active ports, 10 steps/s, meters at 20 frames/s
r = Rig(n=10, step_ms=100, keep=64)
for i in range(10):
    r.plant.ports[i].plug(physics.Bike(capacity_wh=50000))
    r.pile.start(i + 1, "full")
r.run(30)
r.board.poll = lambda: None  # time the firmware only: the fake board's physics is not on the chip
frames_ = [[r.board.encs[i].frame(*r.plant.ports[i].reading()) for _ in range(2)] for i in range(10)]
steps = 600
t0 = time.ticks_us()
for s in range(steps):
    for i in range(10):
        r.board.meters[i].feed(frames_[i][s & 1])
    r.clock.advance(100)
    r.pile.step()
t1 = time.ticks_us()
per_s = time.ticks_diff(t1, t0) / (steps / 10)
print("control loop CPU with 10 active ports (10 steps/s, 2 meter frames per port per step): %d us per second (%.2f %%) on this host"
      % (per_s, per_s / 10000))

# 3) peak heap with 10 active sessions
gc.collect()
base = gc.mem_alloc()

r = None
gc.collect()
m0 = gc.mem_alloc()
r = Rig(n=10, step_ms=1000, keep=64)
for i in range(10):
    r.plant.ports[i].plug(physics.Bike(capacity_wh=50000))
    r.pile.start(i + 1, "money", 100)
peak = 0
for _ in range(600):
    r.clock.advance(1000)
    r.pile.step()
    r.take()  # the test rig's own copy of the bus events is not the pile's heap
    a = gc.mem_alloc()
    if a > peak:
        peak = a
gc.collect()
live = gc.mem_alloc() - m0
print("heap with 10 active sessions (pile + parsers + test physics): %d bytes live after gc, peak %d bytes between collections"
      % (live, peak - m0))

# 4) journal bytes per session-hour (compaction off, so every appended byte counts)
r = Rig(n=10, step_ms=1000, cfg=fast_cfg(charging__compact_bytes=1048576), keep=64)
for i in range(10):
    r.plant.ports[i].plug(physics.Bike(capacity_wh=50000))
    r.pile.start(i + 1, "full")
j = r.pile.store.j
size0 = j.size()
for _ in range(3600):
    r.run(1)
    r.take()
grown = j.size() - size0
from firmware.charging.session import CK_LEN  # noqa: E402

print("journal bytes written per session-hour: %d (checkpoint every %d s: %d-byte checkpoint records incl. the 6-byte frame,"
      " plus the pile's energy registers, %d bytes per checkpoint round for 10 ports)"
      % (grown // 10, r.cfg["charging"]["checkpoint_s"], CK_LEN + 1 + 6, 1 + 8 * 10 + 6))

# 5) billing at the edges and stops (the field trial's figures; tests/device/test_charging_edges.py)
r = None
gc.collect()
import test_charging_edges as edges  # noqa: E402

billed = metered = n = 0
for ports, dwell in ((2, 120), (10, 120)):
    for load in (60, 400, 1150):
        for b, m in edges._back_to_back(ports, dwell, load, 3):
            billed += b
            metered += m
            n += 1
print("bills vs metered energy, %d back-to-back sessions (60-1150 W, 2- and 10-meter mux): billed %d mWh of %d mWh"
      " counted while the relays were closed, %d mWh (%.2f %%) unbilled at the edges, none billed before its start"
      % (n, billed, metered, metered - billed, 100.0 * (metered - billed) / metered))
faults = []
r = Rig(n=10, step_ms=100, board=edges.mux(120, False), cfg=edges.cfg())
made = edges._stop_cycles(r, [5, 25, 60, 150, 300, 600, 900, 1190], 1000, faults)
print("false weld faults: %d per %d normal stops (5-1190 W, 10-meter mux, energy judged after relay_release_ms)"
      % (len(faults), made))
