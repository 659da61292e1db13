# Runs under micropython (bench/ocpp_smart.py starts it; argv: a data folder): the heap of the
# charging-profile store at its maximum (MaxChargingProfilesInstalled profiles of
# ChargingScheduleMaxPeriods periods) and of one evaluation of every connector's limit; the
# local authorization list at LocalAuthListMaxLength: a lookup's time and heap, a differential
# update's time. Prints "FIG <name> <value>" lines.
import asyncio
import gc
import sys
import time

sys.path[:] = [p for p in sys.path if not p.endswith("bench")]

from ocppbench import Bench, T0  # noqa: E402
from firmware.proto.ocpp import dt, llist, smart  # noqa: E402


def profile(i):
    purpose = ("ChargePointMaxProfile", "TxDefaultProfile")[i % 2]
    return {"chargingProfileId": 100 + i, "stackLevel": i, "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Recurring", "recurrencyKind": "Daily", "validFrom": dt.iso(T0),
            "validTo": dt.iso(T0 + 86400 * 30),
            "chargingSchedule": {"duration": 86400, "startSchedule": dt.iso(T0), "chargingRateUnit": "A",
                                 "minChargingRate": 1.5,
                                 "chargingSchedulePeriod": [{"startPeriod": k * 3600, "limit": 6.5 + k,
                                                             "numberPhases": 3} for k in range(smart.MAX_PERIODS)]}}


async def main():
    b = Bench(n=10, data=sys.argv[1])
    try:
        await b.booted()
        s = b.cp.smart
        payloads = [profile(i) for i in range(smart.MAX_PROFILES)]  # what the CSMS's messages hold
        msgs = [{"connectorId": 0 if i % 2 == 0 else 1 + i % 10, "csChargingProfiles": p} for i, p in enumerate(payloads)]
        i = st = None
        gc.collect()
        before = gc.mem_alloc()
        for m in msgs:
            st = s.set(m)
            if st != "Accepted":
                raise SystemExit("profile %d: %s" % (m["csChargingProfiles"]["chargingProfileId"], st))
        m = st = None
        gc.collect()
        print("FIG profile_store_bytes %d" % (gc.mem_alloc() - before))  # the messages stay alive: not counted
        msgs = payloads = None
        print("FIG profiles %d periods %d" % (len(s.profiles), sum(len(q[11]) // 3 for q in s.profiles)))
        gc.collect()
        gc.disable()
        a = gc.mem_alloc()
        t0 = time.ticks_us()
        for c in range(11):
            s.limit(c, T0 + 5000)
        us = time.ticks_diff(time.ticks_us(), t0)
        print("FIG limits_all_bytes %d" % (gc.mem_alloc() - a))
        print("FIG limits_all_us %d" % us)
        gc.enable()
        # the local list at its maximum length
        ll = b.cp.auth.llist
        v = 1
        t0 = time.ticks_ms()
        for start in range(0, llist.MAX_LEN, llist.SEND_MAX):
            ents = [{"idTag": "card%06d" % (i * 7919 % 1000003), "idTagInfo": {"status": "Accepted"}}
                    for i in range(start, start + llist.SEND_MAX)]
            r = ll.update({"listVersion": v, "updateType": "Full" if v == 1 else "Differential",
                           "localAuthorizationList": ents})
            if r != "Accepted":
                raise SystemExit("list update %d: %s" % (v, r))
            v += 1
        fill_ms = time.ticks_diff(time.ticks_ms(), t0)
        ents = None
        print("FIG list_len %d" % ll.count)
        print("FIG list_fill_ms %d" % fill_ms)
        ents = [{"idTag": "new%05d" % i, "idTagInfo": {"status": "Blocked"}} for i in range(llist.SEND_MAX // 2)] + \
               [{"idTag": "card%06d" % (i * 7919 % 1000003)} for i in range(llist.SEND_MAX // 2)]
        t0 = time.ticks_ms()
        r = ll.update({"listVersion": v, "updateType": "Differential", "localAuthorizationList": ents})
        print("FIG list_diff_ms %d %s" % (time.ticks_diff(time.ticks_ms(), t0), r))
        tags = ["card%06d" % (i * 7919 % 1000003) for i in range(llist.SEND_MAX, llist.MAX_LEN, 9)]
        tags += ["absent%04d" % i for i in range(len(tags))]
        gc.collect()
        gc.disable()
        a = gc.mem_alloc()
        ll.lookup(tags[0])
        one = gc.mem_alloc() - a
        gc.enable()
        t0 = time.ticks_us()
        found = 0
        for tag in tags:
            if ll.lookup(tag) is not None:
                found += 1
        us = time.ticks_diff(time.ticks_us(), t0)
        print("FIG list_lookup_us %d" % (us // len(tags)))
        print("FIG list_lookup_bytes %d" % one)
        print("FIG list_lookups %d found %d" % (len(tags), found))
    finally:
        b.close()


asyncio.run(main())
