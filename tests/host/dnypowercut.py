"""Power cuts across DNY sessions and settlement resends on the sim board over cellular
(shared by test_dny_sim_powercut_1.py and _2.py, two boards each, so the two run side by side):
>= 200 cuts at random instants (4 boards, each with its own `upile dny-server`),
while the server starts and stops orders and withholds settlements now and then. At the
end every bill the pile made is settled exactly once: one record per order (resends carry
the same bytes), acknowledged once on the pile, with the energy the pile billed (never more
than the meter's truth) and the money of its seconds (1 fen per second)."""
import random
import re
import time
from concurrent.futures import ThreadPoolExecutor

from dnysim import PHYS, Pile, until
from upile.dnyserver import DnyServer

CUTS = 50  # per board (2 boards a file, two files: 200)


def _act(srv, rnd, orders):
    """The server's side while the pile is up: start orders on both ports, stop some."""
    p = srv.piles.get(PHYS)
    if p is None or p.conn is None or not p.reg:
        return
    r = rnd.random()
    port = rnd.randrange(2)
    if r < 0.05:
        mode, value = rnd.choice(((0, 60), (2, 1), (0, 0)))  # a minute, 0.01 kWh, or until full
        ans = srv.start_order(p.phys, port, mode, value, timeout=2.0)
        if ans["result"] is not None:
            orders[ans["sent_order"]] = (port, ans["result"])
    elif r < 0.06:
        running = [o for o, (pt, res) in orders.items() if pt == port and res == 0 and not srv.settled(o)]
        if running:
            srv.stop_order(p.phys, port, running[-1], timeout=2.0)


def _chain(work, seed):
    rnd = random.Random(seed)
    srv = DnyServer(gap_s=0.05).start()
    pile = Pile(work, srv.port, heartbeat_s=4, settle_retry_s=4, settle_delay_ms=500, settle_next_s=1,
                report_s=30, backoff_min_ms=200, backoff_max_ms=1000, charging={"overcurrent_ma": 9500})
    orders = {}
    try:
        pile.plug(1, 1900.0, 0.99)  # ~10 Wh (one 0.01 kWh unit) every 19 s
        pile.plug(2, 1700.0, 0.99)
        for _ in range(CUTS):
            pile.board.power_on()
            # mostly short lives (cuts while booting, connecting, sending), now and then a
            # long one in which sessions charge some energy and end by their budgets
            end = time.monotonic() + (rnd.uniform(0.5, 4.0) if rnd.random() < 0.9 else rnd.uniform(15.0, 30.0))
            while time.monotonic() < end:
                _act(srv, rnd, orders)
                time.sleep(0.1)
            pile.cut()
            srv.withhold = rnd.random() < 0.3
        # the last power-on: the server answers again and stops what still runs
        srv.withhold = False
        pile.board.power_on()
        srv.wait_pile(90)
        for o, (port, res) in list(orders.items()):
            if not srv.settled(o):
                srv.stop_order(PHYS, port, o, timeout=5.0)
        until(lambda: _all_settled(pile.all_text()), 240, what="every bill settled")
        # quiet: nothing pending is left (a pending bill would come again within settle_retry_s)
        n = len(srv.settlements)
        beats = len(srv.piles[PHYS].beats)  # four heartbeats (16 s) > settle_retry_s + settle_next_s
        until(lambda: len(srv.piles[PHYS].beats) >= beats + 4, 120, what="four more heartbeats")
        assert len(srv.settlements) == n, srv.settlements[n:]
        return pile.all_text(), list(srv.settlements), orders, [p.energy_wh for p in pile.meter.plant.ports]
    finally:
        pile.close()
        srv.close()


def _bills(text):
    """Session ids the pile billed (stopped, or closed after a power cut)."""
    ids = set(int(m) for m in re.findall(r"charging: port \d+: session (\d+) stopped ", text))
    ids |= set(int(m) for m in re.findall(r"charging: port \S+: session (\d+) closed after power loss", text))
    return ids


def _all_settled(text):
    settled = set(int(m) for m in re.findall(r"settled id=(\d+) order=", text))
    return _bills(text) <= settled


def _check(text, settlements, orders, truth):
    by_order = {}
    for s in settlements:
        by_order.setdefault(s["order"], []).append(s)
    # one record per order, however often it came (lost answers, withheld ones, cuts)
    for o, got in by_order.items():
        assert len({s["raw"] for s in got}) == 1, (o, got)
        assert o in orders, "settled an order the server never sent: %s" % o
    for o, (port, res) in orders.items():
        if res == 0:
            assert o in by_order, "order %s was started and never settled" % o
    # the pile acknowledged each bill once
    acked = re.findall(r"settled id=(\d+) order=([0-9a-f]{32})", text)
    assert len(acked) == len(set(i for i, _ in acked)), "a bill was acknowledged twice"
    assert len(acked) == len(by_order)
    # the figures: the pile's own bill (its settle lines: mWh, fen, seconds) against the record
    lines = {}
    for m in re.finditer(r"settle id=(\d+) order=([0-9a-f]{32}) port=(\d+) mwh=(\d+) fen=(\d+) s=(\d+)", text):
        rec = tuple(int(x) for x in m.group(1, 3, 4, 5, 6))
        assert lines.setdefault(m.group(2), rec) == rec, "a resend with other figures: %s" % m.group(2)
    per_port = [0, 0]
    for o, got in by_order.items():
        s = got[0]
        sid, port, mwh, fen, secs = lines[o]
        assert (s["energy_cwh"], s["duration_s"], s["port"]) == (mwh // 10000, secs, port - 1), (o, s, lines[o])
        assert fen == secs, (o, fen, secs)  # 1 fen per second: the money of its seconds
        per_port[port - 1] += mwh
    for i in range(2):
        assert per_port[i] <= truth[i] * 1000 + 1, (i, per_port[i], truth[i])
    return len(by_order)


def run(tmp_path, seeds):
    """Every board (one per seed) through its CUTS power cuts; checks each, returns the number
    of orders settled and the energies of their settlements."""
    with ThreadPoolExecutor(len(seeds)) as ex:
        futs = [ex.submit(_chain, tmp_path / ("b%d" % k), k) for k in seeds]
        results = [f.result() for f in futs]
    total = 0
    for text, settlements, orders, truth in results:
        total += _check(text, settlements, orders, truth)
        assert "Traceback" not in text
    energies = [s["energy_cwh"] for _, sets, _, _ in results for s in sets]
    return total, energies
