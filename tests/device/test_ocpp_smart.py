# heapsize: 640K
# timeout: 300
# Smart charging in-process over the real pile: profiles checked and stored (stack levels,
# replacement, bounds, errata codes), the composite limit (absolute, recurring across
# midnight, relative to the transaction, A -> W), a lowered pile limit shedding the newest
# session at its second and resuming it when raised, a TxProfile from RemoteStart going
# with its transaction, profiles surviving a reboot.
import asyncio

from ocppbench import Bench, T0
from firmware.proto.ocpp import dt, smart
from firmware.proto.ocpp.rpc import CallError


def prof(pid, purpose="ChargePointMaxProfile", periods=((0, 1000),), stack=0, kind="Absolute", start=T0,
         unit="W", recur=None, dur=None, txid=None, vf=None, vt=None):
    sch = {"chargingRateUnit": unit, "chargingSchedulePeriod": [{"startPeriod": a, "limit": b} for a, b in periods]}
    if start is not None:
        sch["startSchedule"] = dt.iso(start)
    if dur is not None:
        sch["duration"] = dur
    p = {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
         "chargingProfileKind": kind, "chargingSchedule": sch}
    if recur:
        p["recurrencyKind"] = recur
    if txid is not None:
        p["transactionId"] = txid
    if vf is not None:
        p["validFrom"] = dt.iso(vf)
    if vt is not None:
        p["validTo"] = dt.iso(vt)
    return p


def setp(b, c, p):
    return b.cp.handlers["SetChargingProfile"]({"connectorId": c, "csChargingProfiles": p})["status"]


def code_of(fn):
    try:
        fn()
    except CallError as e:
        return e.args[0]
    return None


async def seconds(b, n):
    """Wall clock and pile run together, n seconds; the events task looks at the time each."""
    for _ in range(n):
        b.rig.wall += 1
        b.rig.run(1)
        b.cp.wake_events()
        await asyncio.sleep_ms(3)
    await b.settle()


async def test_profiles_are_checked_replaced_bounded_and_cleared():
    b = Bench(n=2)
    try:
        await b.booted()
        s = b.cp.smart
        assert code_of(lambda: setp(b, 3, prof(1))) == "PropertyConstraintViolation"  # errata 3.38/3.39
        assert code_of(lambda: setp(b, 0, prof(1, periods=((10, 100),)))) == "PropertyConstraintViolation"
        assert code_of(lambda: setp(b, 0, prof(1, periods=((0, 100), (0, 50))))) == "PropertyConstraintViolation"
        assert code_of(lambda: setp(b, 0, prof(1, kind="Recurring"))) == "PropertyConstraintViolation"
        assert setp(b, 1, prof(1)) == "Rejected"  # ChargePointMaxProfile only on connector 0
        assert setp(b, 0, prof(1, "TxProfile")) == "Rejected"
        assert setp(b, 1, prof(1, "TxProfile")) == "Rejected"  # no transaction on 1
        assert setp(b, 0, prof(1, stack=smart.MAX_STACK + 1)) == "Rejected"
        assert setp(b, 0, prof(1, periods=[(i * 60, 100) for i in range(smart.MAX_PERIODS + 1)])) == "Rejected"
        assert setp(b, 0, prof(1, "ChargePointMaxProfile", kind="Relative", start=None)) == "Rejected"
        assert setp(b, 0, prof(1)) == "Accepted"
        assert setp(b, 0, prof(2, stack=0, periods=((0, 800),))) == "Accepted"  # same level and purpose: replaces 1
        assert [q[0] for q in s.profiles] == [2]
        assert setp(b, 0, prof(2, stack=1, periods=((0, 700),))) == "Accepted"  # same id: replaced
        assert [(q[0], q[3]) for q in s.profiles] == [(2, 1)]
        for i in range(smart.MAX_PROFILES - 1):
            assert setp(b, 1 + i % 2, prof(10 + i, "TxDefaultProfile", stack=i)) == "Accepted"
        assert setp(b, 1, prof(99, "TxDefaultProfile", stack=8)) == "Rejected"  # MaxChargingProfilesInstalled
        clr = b.cp.handlers["ClearChargingProfile"]
        assert clr({"id": 12345}) == {"status": "Unknown"}
        assert clr({"id": 10}) == {"status": "Accepted"}
        assert clr({"connectorId": 2, "chargingProfilePurpose": "TxDefaultProfile"}) == {"status": "Accepted"}
        assert all(q[1] != 2 for q in s.profiles)
        assert clr({}) == {"status": "Accepted"} and s.profiles == []
        r = b.cp.handlers["GetConfiguration"]({"key": ["ChargingScheduleAllowedChargingRateUnit",
                                                       "SupportedFeatureProfiles"]})
        assert r["configurationKey"][0]["value"] == "Current,Power" and "SmartCharging" in r["configurationKey"][1]["value"]
    finally:
        b.close()


async def test_composite_absolute_recurring_across_midnight_and_amps():
    b = Bench(n=2)
    try:
        await b.booted()
        s = b.cp.smart
        midnight = (T0 // 86400 + 1) * 86400  # T0 is 08:00 UTC
        # daily 22:00-02:00 at 16 A per phase (3 phases: 16 x 220 x 3 W), else 20 kW; level 1 over level 0
        assert setp(b, 0, prof(1, stack=0, periods=((0, 20000),))) == "Accepted"
        assert setp(b, 0, prof(2, stack=1, kind="Recurring", recur="Daily", start=midnight - 7200 - 86400, unit="A",
                              periods=((0, 16), (4 * 3600, 40)), dur=86400)) == "Accepted"
        assert s.limit(0, midnight - 7201)[0] == 40 * 660
        assert s.limit(0, midnight - 3600)[0] == 16 * 660
        assert s.limit(0, midnight + 3600)[0] == 16 * 660  # across midnight
        w, nxt = s.limit(0, midnight + 7199)
        assert w == 16 * 660 and nxt == midnight + 7200
        assert s.limit(0, midnight + 7200 + 86400 - 60)[0] == 16 * 660  # the next day, same hours
        # a port's A limit is one phase of 220 V whatever numberPhases says
        assert setp(b, 1, prof(3, "TxDefaultProfile", unit="A", periods=((0, 2.5),))) == "Accepted"
        assert s.limit(1, T0)[0] == 550
        # validFrom / validTo bound a profile; a lower level fills the time it does not cover
        assert setp(b, 2, prof(4, "TxDefaultProfile", stack=2, periods=((0, 100),), vf=T0 + 100, vt=T0 + 200)) == "Accepted"
        assert setp(b, 2, prof(5, "TxDefaultProfile", stack=1, periods=((0, 300),))) == "Accepted"
        assert s.limit(2, T0 + 50) == (300, T0 + 100)
        assert s.limit(2, T0 + 150) == (100, T0 + 200)
        assert s.limit(2, T0 + 250)[0] == 300
        r = b.cp.handlers["GetCompositeSchedule"]({"connectorId": 2, "duration": 300})
        assert r["status"] == "Accepted" and r["chargingSchedule"]["chargingRateUnit"] == "W"
        assert [(x["startPeriod"], x["limit"]) for x in r["chargingSchedule"]["chargingSchedulePeriod"]] == \
            [(0, 300), (100, 100), (200, 300)]
        r = b.cp.handlers["GetCompositeSchedule"]({"connectorId": 1, "duration": 60, "chargingRateUnit": "A"})
        assert r["chargingSchedule"]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 2.5}]
        assert b.cp.handlers["GetCompositeSchedule"]({"connectorId": 3, "duration": 60}) == {"status": "Rejected"}
        r = b.cp.handlers["GetCompositeSchedule"]({"connectorId": 2, "duration": 0})
        assert r["chargingSchedule"]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 300}]
    finally:
        b.close()


async def test_a_lowered_pile_limit_sheds_the_newest_at_its_second_and_restores_when_raised():
    b = Bench(n=2, charging={"sample_s": 0})
    try:
        await b.booted()
        b.station.start(1, "full", 0, "old", "card")
        b.plug(1)
        await seconds(b, 3)
        b.station.start(2, "full", 0, "new", "card")
        b.plug(2)
        await seconds(b, 10)
        assert b.station.port(1)["status"] == "Charging" and b.station.port(2)["status"] == "Charging"
        t0 = b.rig.wall
        # 2 kW, from t0+30 400 W (room for one bike), from t0+60 2 kW again
        assert setp(b, 0, prof(7, start=t0, periods=((0, 2000), (30, 400), (60, 2000)))) == "Accepted"
        await seconds(b, 29)
        assert b.station.port(2)["status"] == "Charging"  # not before its second
        await seconds(b, 2)
        await b.until(lambda: b.station.port(2)["status"] == "SuspendedEVSE")
        assert b.station.port(1)["status"] == "Charging"  # the older session keeps charging
        shed = [e for e in b.rig.events if e[0] == "port.status" and e[2]["status"] == "SuspendedEVSE"]
        assert shed[-1][2]["cause"] == "power_cap"
        sts = [x for x in b.calls("StatusNotification") if x["connectorId"] == 2]
        await b.until(lambda: [x["status"] for x in b.calls("StatusNotification") if x["connectorId"] == 2][-1]
                      == "SuspendedEVSE")
        # no new session over the limit meanwhile (admission)
        await seconds(b, 20)
        assert b.station.port(2)["status"] == "SuspendedEVSE"
        await seconds(b, 10)  # t0+61: raised
        await seconds(b, 7)  # the pile's hold time after a change
        await b.until(lambda: b.station.port(2)["status"] == "Charging")
        assert b.calls("StopTransaction") == [] and sts
    finally:
        b.close()


async def test_a_remote_start_profile_goes_with_its_transaction_and_profiles_survive_a_reboot():
    b = Bench(n=2)
    try:
        await b.booted()
        tp = prof(30, "TxProfile", kind="Relative", start=None, periods=((0, 0), (20, 500)))
        assert b.cp.handlers["RemoteStartTransaction"]({"connectorId": 1, "idTag": "r", "chargingProfile": tp}) == \
            {"status": "Accepted"}
        b.plug(1)
        await seconds(b, 3)
        assert b.station.port(1)["limit_w"] == 0 and b.station.port(1)["status"] == "SuspendedEVSE"
        await seconds(b, 25)
        await b.until(lambda: b.station.port(1)["limit_w"] == 500)
        assert setp(b, 0, prof(31, periods=((0, 5000),))) == "Accepted"
        await b.until(lambda: b.calls("StartTransaction"))
        assert b.cp.handlers["RemoteStopTransaction"]({"transactionId": 101}) == {"status": "Accepted"}
        await seconds(b, 2)
        await b.until(lambda: [q[0] for q in b.cp.smart.profiles] == [31])  # the TxProfile went with it
        await b.until(lambda: b.station.port(1)["limit_w"] is None)
        bad = prof(32, "TxDefaultProfile")
        assert b.cp.handlers["RemoteStartTransaction"]({"connectorId": 2, "idTag": "r", "chargingProfile": bad}) == \
            {"status": "Rejected"}
        b.close()
        b.rig.reboot()
        b2 = Bench(n=2, rig=b.rig, data=b.data)
        await b2.booted()
        assert [q[0] for q in b2.cp.smart.profiles] == [31]
        await seconds(b2, 1)
        await b2.until(lambda: b2.rig.pile.limits.cap == 5000)
        info = b2.cp.info()
        assert info["profiles"] == [31] and info["limits_w"] == {"0": 5000}
        import json

        json.loads(json.dumps(info))  # what `upile status --json` shows
        b2.close()
    finally:
        b.close()


def periods(b, c, dur, unit="A"):
    r = b.cp.handlers["GetCompositeSchedule"]({"connectorId": c, "duration": dur, "chargingRateUnit": unit})
    assert r["status"] == "Accepted" and r["chargingSchedule"]["duration"] == dur
    return [(x["startPeriod"], x["limit"]) for x in r["chargingSchedule"]["chargingSchedulePeriod"]]


async def test_octt_composite_schedules_TC_066_TC_067_TC_072_in_amps():
    b = Bench(n=2)
    try:
        await b.booted()
        b.station.start(1, "full", 0, "t", "card")
        await b.settle(50)
        # TC_066: ChargePointMax 10 A, TxDefault and TxProfile (the TxProfile rules the port, the
        # pile's per-phase limit caps it; after the TxProfile's 260 s the pile's limit, not the default)
        assert setp(b, 0, prof(1, periods=((0, 10),), unit="A", dur=86400)) == "Accepted"
        assert setp(b, 1, prof(2, "TxDefaultProfile", unit="A", dur=300, vf=T0, vt=T0 + 401,
                              periods=((0, 6), (60, 10), (120, 8), (180, 15), (260, 8)))) == "Accepted"
        assert setp(b, 1, prof(3, "TxProfile", unit="A", dur=260, vf=T0, vt=T0 + 401,
                              periods=((0, 8), (50, 11), (140, 16), (200, 6), (240, 12)))) == "Accepted"
        assert periods(b, 1, 400) == [(0, 8.0), (50, 10.0), (200, 6.0), (240, 10.0)]
        assert b.cp.handlers["ClearChargingProfile"]({}) == {"status": "Accepted"}
        # TC_072: two TxDefault levels; the higher one's 150 s end lets the lower one show
        assert setp(b, 2, prof(4, "TxDefaultProfile", stack=0, unit="A", dur=400, vf=T0, vt=T0 + 401,
                              periods=((0, 6), (100, 8), (200, 10)))) == "Accepted"
        assert setp(b, 2, prof(5, "TxDefaultProfile", stack=1, unit="A", dur=150, vf=T0, vt=T0 + 401,
                              periods=((0, 7), (100, 9)))) == "Accepted"
        assert periods(b, 2, 350) == [(0, 7.0), (100, 9.0), (150, 8.0), (200, 10.0)]
        assert b.cp.handlers["ClearChargingProfile"]({}) == {"status": "Accepted"}
        # TC_067: clear by id, by purpose and level, then all: the pile's own limit remains
        assert setp(b, 2, prof(6, "TxDefaultProfile", stack=1, unit="A", dur=400,
                              periods=((0, 6), (60, 8), (200, 10)))) == "Accepted"
        assert setp(b, 2, prof(7, "TxDefaultProfile", stack=0, unit="A", dur=400, vf=T0, vt=T0 + 401,
                              periods=((0, 7), (100, 9)))) == "Accepted"
        assert setp(b, 0, prof(8, unit="A", dur=86400, vf=T0, vt=T0 + 401, periods=((0, 11), (200, 12)))) == "Accepted"
        clr = b.cp.handlers["ClearChargingProfile"]
        assert clr({"id": 6}) == {"status": "Accepted"}
        assert periods(b, 2, 350) == [(0, 7.0), (100, 9.0)]
        assert clr({"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 0}) == {"status": "Accepted"}
        assert periods(b, 2, 350) == [(0, 11.0), (200, 12.0)]
        assert clr({}) == {"status": "Accepted"}
        cap = b.rig.cfg["charging"]["cap_w"]
        assert periods(b, 2, 350, "W") == [(0, cap)]  # the local limit of the pile
    finally:
        b.close()
