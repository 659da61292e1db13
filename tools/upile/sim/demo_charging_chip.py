# Runs under micropython (tools/upile/sim/demo_charging.py starts it): two bikes on the real
# charging code with the sim physics; short thresholds come from the config, not from time hacks.
from chgsim import Rig, fast_cfg, physics

cfg = fast_cfg(charging__full_s=120, charging__float_s=60, charging__full_min_s=60)
r = Rig(n=2, cfg=cfg)


def ev(kind, port, d):
    if kind == "status":
        print("t=%5ds port %d: %s -> %s (%s)" % (t[0], port, d["prev"], d["status"], d["cause"]))
    elif kind == "session_stopped":
        print("t=%5ds port %d: BILL %s/%s %.1f Wh, %d s, %d fen, refund %d fen" % (
            t[0], port, d["reason"], d["cause"], d["mwh"] / 1000, d["s"], d["fen"], d["refund"]))


t = [0]
r.pile.on_event = ev
r.plant.ports[0].plug(physics.Bike(cc_w=320, capacity_wh=60, soc=0.6))  # nearly full battery
r.plant.ports[1].plug(physics.Bike(cc_w=250, capacity_wh=600, soc=0.2))
print("bike 1: 'until full'; bike 2: prepaid 5 fen at 1 yuan / 4 h (12 min)")
r.pile.start(1, "full")
r.pile.start(2, "money", 5)
while not r.pile.is_idle() or t[0] < 10:
    r.clock.advance(1000)
    t[0] += 1
    r.pile.step()
    if t[0] % 300 == 0:
        print("t=%5ds power %d W / %d W, pile %d W" % (t[0], r.pile.ports[0].p_w, r.pile.ports[1].p_w, r.pile.total_w))
print("pending bills:", [b["id"] for b in r.pile.pending_bills()])
