# Runs under micropython (bench/charging.py starts it): figures of the charging domain.
import gc
import sys
import time
import micropython
from chgsim import Rig, physics, fast_cfg
from firmware.charging.pile import Pile

# 1) over-power latency: from the moment the over-power frame is on the meter line to relay off
r = Rig(n=10, step_ms=100)
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
r = Rig(n=10, step_ms=100)
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
r = Rig(n=10, step_ms=1000)
for i in range(10):
    r.plant.ports[i].plug(physics.Bike(capacity_wh=50000))
    r.pile.start(i + 1, "money", 100)
peak = 0
for _ in range(600):
    r.clock.advance(1000)
    r.pile.step()
    a = gc.mem_alloc()
    if a > peak:
        peak = a
gc.collect()
live = gc.mem_alloc() - m0
print("heap with 10 active sessions (pile + parsers + test physics): %d bytes live after gc, peak %d bytes between collections"
      % (live, peak - m0))

# 4) journal bytes per session-hour (compaction off, so every appended byte counts)
r = Rig(n=10, step_ms=1000, cfg=fast_cfg(charging__compact_bytes=1048576))
for i in range(10):
    r.plant.ports[i].plug(physics.Bike(capacity_wh=50000))
    r.pile.start(i + 1, "full")
j = r.pile.store.j
size0 = j.size()
r.run(3600)
grown = j.size() - size0
print("journal bytes written per session-hour: %d (checkpoint every %d s, checkpoint records: 47 bytes each incl. the 6-byte frame)"
      % (grown // 10, r.cfg["charging"]["checkpoint_s"]))
