# heapsize: 320K
# Tariff and budget arithmetic (tiers, settlement, mid-session tier change, refunds),
# the pile power cap, and persistence across power cuts, under micropython.
from chgsim import Rig, fast_cfg, physics
from firmware.charging.tariff import Tariff
from firmware.charging.pile import ChargeError
from firmware import config


def _tiers(**kw):
    t = dict(config.defaults()["tariff"])
    t.update({"mode": "tiers", "tiers": [[200, 240], [400, 180], [0x7FFFFFFF, 120]], "settle_s": 300})
    t.update(kw)
    return Tariff(t)


def test_flat_time_exact_fractions():
    t = Tariff(config.defaults()["tariff"])
    c = t.new_cost()
    c.add(3 * 60000, 0)  # 3 min at 1 yuan / 240 min = 1.25 fen
    assert c.fen(0) == 1
    c.add(1 * 60000, 0)
    assert c.fen(0) == 1  # 4 min = 1.666 fen: still 1, never rounded up
    c.add(236 * 60000, 0)
    assert c.fen(0) == 100  # 4 h = exactly 1 yuan, no drift from summing fractions


def test_tier_settles_on_average_power_not_first_seconds():
    t = _tiers()
    c = t.new_cost()
    c.add(10000, 450 * 10000 // 3600)  # a 450 W inrush for 10 s
    for _ in range(29):
        c.add(10000, 180 * 10000 // 3600)  # then 180 W
    assert c.settled and c.tier == 0  # average ~189 W: tier 0 (4 h per yuan)
    assert c.fen(0) == 300000 * 100 // (240 * 60000)


def test_tier_change_mid_session_bills_each_part_at_its_tier():
    t = _tiers()
    c = t.new_cost()
    for _ in range(60):  # 60 min at 180 W: tier 0
        c.add(60000, 3000)
    assert c.tier == 0
    for _ in range(60):  # 60 min at 350 W: tier 1 after the first window of it
        c.add(60000, 350 * 1000 // 60)
    assert c.tier == 1
    # 65 min at tier 0 (the window that revealed 350 W is still billed at tier 0), 55 at tier 1
    exact_num = 65 * 60000 * t.rate[0] + 55 * 60000 * t.rate[1]
    assert c.num == exact_num
    assert c.fen(0) == exact_num // t.den == (65 * 100 * 3 + 55 * 100 * 4) // 720
    for _ in range(10):  # power falls again: the tier never goes down
        c.add(60000, 1000)
    assert c.tier == 1


def test_money_budget_under_tiers_refund():
    cfg = fast_cfg(tariff__mode="tiers", tariff__tiers=[[200, 240], [400, 180], [800, 120]], tariff__settle_s=300)
    r = Rig(n=1, cfg=cfg)
    r.plant.ports[0].plug(physics.Bike(cc_w=350, capacity_wh=50000))
    r.pile.start(1, "money", 50)  # 50 fen at 3 h per yuan = 90 min
    assert r.run(3 * 3600, until=lambda: r.bills(1))
    b = r.bills(1)[0]
    assert b["tier"] == 1 and b["cause"] == "budget" and b["fen"] == 50 and b["refund"] == 0
    assert 90 * 60 - 2 <= b["charged_s"] <= 90 * 60 + 1


def test_energy_tariff_with_start_fee():
    t = dict(config.defaults()["tariff"])
    t.update({"mode": "energy", "fen_per_kwh": 120, "start_fee_fen": 10})
    c = Tariff(t).new_cost()
    assert c.fen(0) == 10 and c.fen(1500000) == 10 + 180
    assert c.covers(200, 1500000) and not c.covers(190, 1500000)


def test_bad_tariff_is_named():
    # refused with the config (tariff.check, run by config.validate), never at run time
    for tiers in ([[400, 240], [200, 180]], [[200, 0]], [["a", 1]]):
        try:
            config.validate({"tariff": {"mode": "tiers", "tiers": tiers}})
            raise AssertionError("accepted %r" % (tiers,))
        except config.ConfigError as e:
            assert e.args[0].startswith("tariff.tiers[") and e.key == "tariff.tiers", e.args[0]


def test_pile_cap_sheds_newest_and_resumes():
    cfg = fast_cfg(charging__cap_w=2000, charging__admit_w=1800)
    r = Rig(n=10, cfg=cfg)
    for i in range(10):
        r.plant.ports[i].plug(physics.Bike(cc_w=300, capacity_wh=5000 if i else 60, soc=0.5 if i else 0.97))
        r.pile.start(i + 1, "full")
    r.run(10)
    assert r.pile.total_w <= 2000
    shed = [i + 1 for i in range(10) if r.pile.status(i + 1) == "SuspendedEVSE"]
    assert shed == [8, 9, 10]  # the newest ones (port 1 is tapering, so 7 fit)
    assert not any(r.plant.ports[i - 1].relay for i in shed)
    try:
        r.pile.stop(10)
        r.pile.start(10, "full")
        raise AssertionError("admitted over the cap")
    except ChargeError as e:
        assert e.args[0] == "total_power_exceeded"
    # two sessions end: headroom appears and the shed sessions resume, oldest first
    for i in (1, 2, 3):
        r.pile.stop(i)
    r.run(3)
    assert r.pile.status(8) == "Charging" and r.pile.status(9) == "SuspendedEVSE"
    r.run(12)
    assert r.pile.status(9) == "Charging" and r.pile.status(10) == "Available"
    assert r.pile.total_w <= 2000


def test_restore_resumes_with_remaining_budget():
    r = Rig(n=2)
    r.plant.ports[0].plug(physics.Bike(capacity_wh=50000))
    sid = r.pile.start(1, "time", 30)
    r.run(10 * 60 + 30)  # 10.5 min; last checkpoint at 10 min
    r.reboot()
    assert r.board.events[0][1] == -1  # all relays off first
    assert [e for e in r.events if e[0] == "session.started"][0][2]["resumed"]
    assert r.pile.status(1) == "Preparing" and r.plant.ports[0].relay
    assert r.run(3600, until=lambda: r.bills(1))
    b = r.bills(1)[0]
    assert b["id"] == sid and b["cause"] == "budget" and b["charged_s"] == 30 * 60
    assert b["energy_mwh"] <= r.plant.ports[0].energy_wh * 1000
    assert r.pile.pending_bills()[0]["id"] == sid


def test_restore_closes_power_loss_billed_to_checkpoint():
    cfg = fast_cfg(charging__resume_after_power_loss=False)
    r = Rig(n=1, cfg=cfg)
    r.plant.ports[0].plug(physics.Bike(capacity_wh=50000))
    sid = r.pile.start(1, "money", 100)
    r.run(10 * 60)  # a checkpoint was just written
    at_ck = r.pile.info(1)
    r.run(50)
    r.reboot()
    assert not r.plant.ports[0].relay and r.pile.status(1) == "Available"
    b = r.bills(1)[0]
    assert b["reason"] == "PowerLoss" and b["id"] == sid
    assert b["charged_s"] == at_ck["charged_s"] and b["energy_mwh"] == at_ck["mwh"] and b["fen"] == at_ck["fen"]
    assert b["fen"] == b["charged_s"] * 100 // (240 * 60) and b["refund"] == 100 - b["fen"]


def test_bills_stay_until_acked_across_reboots_and_compaction():
    cfg = fast_cfg(charging__compact_bytes=2048)
    r = Rig(n=2, cfg=cfg)
    ids = []
    for _ in range(12):
        r.plant.ports[0].plug(physics.Bike(capacity_wh=50000))
        ids.append(r.pile.start(1, "time", 3))
        r.run(200, until=lambda: r.pile.status(1) == "Available")
    pend = [b["id"] for b in r.pile.pending_bills()]
    assert pend == ids
    for sid in ids[:6]:
        assert r.pile.ack_bill(sid)
    assert not r.pile.ack_bill(ids[0])  # a second ack is harmless and says so
    r.reboot()
    r.reboot()
    assert [b["id"] for b in r.pile.pending_bills()] == ids[6:]
    assert r.pile.store.j.size() < 4096  # compaction kept the journal small
    new = r.pile.start(2, "full")
    assert new == ids[-1] + 1  # ids never repeat, even after compaction


def test_every_pending_bill_is_streamed_in_order_without_a_list():
    # a pile offline for weeks: more pending bills than any list the app would hold
    r = Rig(n=1, cfg=fast_cfg(charging__compact_bytes=1 << 20))
    ids = []
    for _ in range(30):
        r.plant.ports[0].plug(physics.Bike(capacity_wh=50000))
        ids.append(r.pile.start(1, "time", 1))
        r.run(100, until=lambda: r.pile.status(1) == "Available")
    assert r.pile.ack_bill(ids[10])
    want = [sid for sid in ids if sid != ids[10]]
    assert [b["id"] for b in r.pile.pending_bills(20)] == want[:20]  # a bounded list stops
    import gc

    gc.collect()
    before = gc.mem_alloc()
    whole = r.pile.pending_bills(100)
    gc.collect()
    as_list = gc.mem_alloc() - before
    whole = None
    gc.collect()
    before = gc.mem_alloc()
    seen = []
    peak = 0
    for b in r.pile.each_pending_bill():
        seen.append(b["id"])
        gc.collect()
        peak = max(peak, gc.mem_alloc() - before)
    assert seen == want
    assert peak * 3 < as_list, (peak, as_list)  # one bill at a time, not the list of 29


def test_a_protocol_reference_travels_with_the_session_across_a_power_cut():
    r = Rig(n=1)
    r.plant.ports[0].plug(physics.Bike(capacity_wh=50000))
    sid = r.pile.start(1, "time", 30, "card-9", "remote", None, "DNY-000123")
    assert [d for k, p, d in r.events if k == "session.started"][0]["ref"] == "DNY-000123"
    r.run(90)
    r.reboot()
    r.pile.stop(1)
    b = r.bills(1)[0]
    assert b["id"] == sid and b["ref"] == "DNY-000123" and b["method"] == "remote" and b["id_tag"] == "card-9"
    assert r.pile.pending_bills()[0]["ref"] == "DNY-000123"
    try:
        r.pile.start(1, "full", 0, None, "remote", None, "x" * 41)
        raise AssertionError("an over-long reference was accepted")
    except ChargeError as e:
        assert e.args[0] == "bad_ref"


def test_a_meter_jump_no_load_could_make_is_never_billed():
    # a stray frame behind the mux (a neighbour's counter) or a chip that restarted: the
    # energy counter leaps by more than the port's over-power limit allows in the time
    r = Rig(n=1, step_ms=1000)
    r.plant.ports[0].plug(physics.Bike(cc_w=300, capacity_wh=50000))
    r.pile.start(1, "full")
    r.run(30)
    before = r.pile.info(1)["mwh"]
    ch = r.board.channel(0)
    ch.pulses += 8000  # ~21 Wh in one second: 75 kW
    r.run(1)
    after = r.pile.info(1)["mwh"]
    assert after - before < 300 * 2 // 3.6 + 5, (before, after)  # at most a second or two of 300 W
    assert r.pile.glitches == 1
    r.run(30)
    b = r.pile.stop(1)
    assert b["mwh"] <= r.plant.ports[0].energy_wh * 1000 + 3  # billed <= what flowed


def test_a_changed_budget_survives_a_power_cut_and_compaction():
    # a back end changes a running session's budget (DNY 0x8A): journalled before it applies
    cfg = fast_cfg(charging__compact_bytes=2048)
    r = Rig(n=2, cfg=cfg)
    r.plant.ports[0].plug(physics.Bike(capacity_wh=50000))
    sid = r.pile.start(1, "full", 0, None, "remote", None, "order-1")
    r.run(30)
    assert r.pile.change(1, "time", 600) == "ok"
    r.reboot()
    info = r.pile.info(1)
    assert (info["id"], info["kind"], info["amount"]) == (sid, "time", 600)
    for _ in range(12):  # other sessions fill the journal: compaction runs, the change stays
        r.plant.ports[1].plug(physics.Bike(capacity_wh=50000))
        r.pile.start(2, "time", 1)
        r.run(120, until=lambda: r.pile.status(2) == "Available")
    assert r.pile.store.j.size() < 4096
    r.reboot()
    assert (r.pile.info(1)["id"], r.pile.info(1)["kind"], r.pile.info(1)["amount"]) == (sid, "time", 600)
    # a budget already used: accepted and said so; the next step stops the session
    assert r.pile.change(1, "energy", 1) == "below_used"
    r.run(3)
    b = r.bills(1)[0]
    assert (b["id"], b["cause"], b["kind"], b["amount"], b["ref"]) == (sid, "budget", "energy", 1, "order-1")
    for bad in (("money", 5), ("time", 0), ("energy", -1)):
        try:
            r.pile.change(2, *bad) if r.pile.info(2).get("id") else r.pile.change(1, *bad)
            raise AssertionError("accepted %r" % (bad,))
        except ChargeError as e:
            assert e.args[0] in ("bad_budget", "no_session")
