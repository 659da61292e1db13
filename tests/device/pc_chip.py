# Power-cut test chip program (driven by tests/host/test_charging_powercut.py): the real
# charging code on a littlefs SimFlash, 10 ports always charging, bills acked at random.
# Prints MOUNTED, STEP n (every 10 control steps), BILL/ACKING/ACKED/FINAL lines (the host
# cuts after a chosen one); checks its own relay invariants (VIOLATION lines).
# argv: workdir seed [final]
import sys
import json
import time
from chgsim import FakeBoard, Clock, physics, fast_cfg, Rand
from chip.simflash import SimFlash, mount
from firmware.charging.pile import Pile, ChargeError

wd, seed = sys.argv[1], int(sys.argv[2])
final = len(sys.argv) > 3
N = 10
bd = SimFlash(wd + "/flash.bin", 512 * 1024)
mount(bd, "/fl")
print("MOUNTED")  # recovery (journal replay) comes next, in Pile()
truth_f = open(wd + "/truth.txt", "r+b")
saved = truth_f.read().split()
clock = Clock(int(saved[N]) if len(saved) > N else None)
plant = physics.Plant(N)
for i in range(N):
    plant.ports[i].energy_wh = float(saved[i]) if len(saved) > N else 0.0


class Board(FakeBoard):
    def poll(self):
        now = self.clock()
        # advance the plant and record the truth BEFORE any meter frame can report it
        d = time.ticks_diff(now, self._last)
        self._last = now
        if d > 0:
            self.plant.advance(d / 1000)
        line = " ".join("%.6f" % p.energy_wh for p in self.plant.ports) + " %d" % now
        truth_f.seek(0)
        truth_f.write(line.encode() + b" " * (400 - len(line)))
        truth_f.flush()
        for i in range(self.n):
            port = self.plant.ports[i]
            self.meters[i].feed(self.encs[i].frame(*port.reading(self.plant.mains_v)))


cfg = fast_cfg(charging__journal="/fl/charging.jnl", charging__compact_bytes=4096, charging__checkpoint_s=30,
               charging__resume_after_power_loss=(seed % 2 == 0))
cfg["pile"]["ports"] = N
board = Board(N, plant, clock)
pile = Pile(cfg, board, clock=clock)
if board.events[0][1] != -1:
    print("VIOLATION relays not all off first")
for i in range(N):
    if plant.ports[i].relay and not (pile.ports[i].session and pile.ports[i].session.resumed):
        print("VIOLATION relay %d on after restart without a resumed session" % (i + 1))
if final:
    pile.stop_all("Local", "test_end")
    for b in pile.each_pending_bill():  # hundreds after 70 cuts: streamed, never all in RAM
        print("FINAL", json.dumps(b))
    print("DONE")
    sys.exit(0)
r = Rand(seed + clock.t)
steps = 0
while True:
    for i in range(N):
        p = pile.ports[i]
        if p.session is None and p.status == "Available":
            plant.ports[i].plug(physics.Bike(cc_w=150 + r.below(250), capacity_wh=30 + r.below(60), soc=0.5))
            k = r.below(4)
            kind, amount = (("time", 5 + r.below(20)), ("money", 3 + r.below(10)), ("energy", 20 + r.below(60)), ("full", 0))[k]
            try:
                pile.start(i + 1, kind, amount)
            except ChargeError as e:
                print("REFUSED", i + 1, e.args[0])
    clock.advance(1000)
    pile.step()
    steps += 1
    if steps % 10 == 0:
        print("STEP", steps)
    for i in range(N):
        if plant.ports[i].relay and pile.ports[i].session is None:
            print("VIOLATION relay %d on without a session" % (i + 1))
    if steps % 20 == 0:
        for b in pile.pending_bills(30):
            print("BILL", json.dumps(b))
            if r.below(2):
                print("ACKING", b["id"])
                if pile.ack_bill(b["id"]):
                    print("ACKED", b["id"])
