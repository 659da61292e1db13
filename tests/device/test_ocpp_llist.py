# heapsize: 640K
# timeout: 300
# The local authorization list in-process: SendLocalList full and differential with the
# version rules, bounds, a damaged file, its use offline and with LocalPreAuthorize, its
# precedence over the cache, and a power cut in the middle of an update.
import os

from ocppbench import Bench, T0
from firmware.proto.ocpp import dt, llist


def ent(tag, status="Accepted", parent=None, exp=None):
    info = {"status": status}
    if parent:
        info["parentIdTag"] = parent
    if exp:
        info["expiryDate"] = dt.iso(exp)
    return {"idTag": tag, "idTagInfo": info}


def send(b, ver, kind, ents):
    return b.cp.handlers["SendLocalList"]({"listVersion": ver, "updateType": kind,
                                           "localAuthorizationList": ents})["status"]


def version(b):
    return b.cp.handlers["GetLocalListVersion"]({})["listVersion"]


async def test_full_and_differential_updates_follow_the_version_rules():
    b = Bench()
    try:
        await b.booted()
        assert version(b) == 0  # empty
        assert send(b, 0, "Full", [ent("a")]) == "Failed"  # 0 and -1 are reserved (errata 3.52)
        assert send(b, 3, "Full", [ent("Card-%02d" % i) for i in range(10)] + [ent("blk", "Blocked")]) == "Accepted"
        assert version(b) == 3
        ll = b.cp.auth.llist
        assert ll.lookup("card-07") == ("Accepted", None, None)  # idTags are case-insensitive
        assert ll.lookup("blk")[0] == "Blocked" and ll.lookup("nope") is None
        assert send(b, 3, "Differential", [ent("x")]) == "VersionMismatch"
        assert send(b, 2, "Differential", [ent("x")]) == "VersionMismatch"
        # differential: add, change, delete (no idTagInfo)
        assert send(b, 4, "Differential", [ent("new", parent="grp", exp=T0 + 3600), ent("Card-03", "Blocked"),
                                           {"idTag": "Card-05"}, {"idTag": "never-there"}]) == "Accepted"
        assert version(b) == 4 and ll.count == 11
        assert ll.lookup("new") == ("Accepted", T0 + 3600, "grp")
        assert ll.lookup("card-03")[0] == "Blocked" and ll.lookup("card-05") is None
        # bounds and bad input change nothing
        assert send(b, 5, "Full", [ent("t%d" % i) for i in range(llist.SEND_MAX + 1)]) == "Failed"
        assert send(b, 5, "Differential", [ent("dup"), ent("DUP")]) == "Failed"
        assert send(b, 5, "Differential", [ent("x" * 20), ent("\u00e9" * 11)]) == "Failed"
        assert version(b) == 4 and ll.count == 11
        # the list survives a restart and a full update replaces it all
        ll2 = llist.LocalList(ll.path)
        assert ll2.version == 4 and ll2.count == 11 and ll2.lookup("NEW")[2] == "grp"
        assert send(b, 9, "Full", [ent("only")]) == "Accepted"
        assert ll.count == 1 and ll.lookup("card-01") is None
        assert send(b, 10, "Full", []) == "Accepted" and version(b) == 0  # TC_042_2
        b.cp.o["local_list"] = False
        assert version(b) == -1  # LocalAuthListEnabled false: TC_042_1
        b.cp.o["local_list"] = True
        r = b.cp.handlers["GetConfiguration"]({"key": ["LocalAuthListMaxLength", "SendLocalListMaxLength",
                                                       "SupportedFeatureProfiles"]})
        vals = [k["value"] for k in r["configurationKey"]]
        assert vals[0] == str(llist.MAX_LEN) and vals[1] == str(llist.SEND_MAX) and "LocalAuthListManagement" in vals[2]
    finally:
        b.close()


async def test_the_list_is_bounded_by_its_maximum_length():
    b = Bench()
    try:
        await b.booted()
        v = 1
        for start in range(0, llist.MAX_LEN, llist.SEND_MAX):
            ents = [ent("id%05d" % i) for i in range(start, start + llist.SEND_MAX)]
            assert send(b, v, "Full" if v == 1 else "Differential", ents) == "Accepted"
            v += 1
        ll = b.cp.auth.llist
        assert ll.count == llist.MAX_LEN
        assert os.stat(ll.path)[6] == 16 + 48 * llist.MAX_LEN
        assert send(b, v, "Differential", [ent("one-too-many")]) == "Failed"
        assert ll.count == llist.MAX_LEN and ll.lookup("one-too-many") is None
        assert send(b, v, "Differential", [ent("id00000", "Blocked")]) == "Accepted"  # a change still fits
        for i in (0, 1, 499, 998, 999):
            assert ll.lookup("id%05d" % i) is not None, i
        assert ll.lookup("id00000")[0] == "Blocked"
    finally:
        b.close()


async def test_a_damaged_or_half_written_list_is_never_used():
    b = Bench()
    try:
        await b.booted()
        assert send(b, 1, "Full", [ent("a"), ent("b")]) == "Accepted"
        ll = b.cp.auth.llist
        with open(ll.path + ".new", "wb") as f:  # a power cut while an update was being written
            f.write(b"ULL1garbage")
        assert llist.LocalList(ll.path).lookup("a") is not None  # the old list holds
        with open(ll.path, "r+b") as f:
            f.seek(16 + 5)
            f.write(b"Z")  # bit rot in a record
        bad = llist.LocalList(ll.path)
        assert bad.count == 0 and bad.lookup("a") is None
    finally:
        b.close()


async def test_offline_the_list_decides_before_the_cache_and_unknown_ids_are_refused():
    b = Bench(ocpp={"local_auth_offline": True, "allow_offline_unknown": False})
    try:
        await b.booted()
        assert send(b, 1, "Full", [ent("friend"), ent("banned", "Blocked"), ent("kid", parent="fam"),
                                   ent("old", exp=T0 - 60)]) == "Accepted"
        # online: the CSMS is asked, a listed id is never cached
        assert await b.station.authorize("friend") == ("Accepted", None)
        assert "friend" not in b.cp.auth.cache
        b.csms.tags["cached-bad"] = {"status": "Accepted"}
        await b.station.authorize("cached-bad")
        assert send(b, 2, "Differential", [ent("cached-bad", "Blocked")]) == "Accepted"
        b.online = False
        b.drop()
        await b.until(lambda: not b.cp.accepted.is_set())
        n = len(b.csms.calls)
        assert await b.station.authorize("friend") == ("Accepted", None)
        assert (await b.station.authorize("banned"))[0] == "Blocked"
        assert (await b.station.authorize("old"))[0] == "Expired"
        assert (await b.station.authorize("cached-bad"))[0] == "Blocked"  # the list wins over the cache
        assert (await b.station.authorize("stranger"))[0] == "Invalid"
        assert (await b.station.tap(1, "kid"))[0] == "started"
        assert len(b.csms.calls) == n  # nothing asked while away
        # LocalAuthListEnabled false: the list is not used
        b.cp.o["local_list"] = False
        assert (await b.station.authorize("banned"))[0] == "Invalid"
        b.cp.o["local_list"] = True
        b.online = True
        await b.booted()
        # LocalPreAuthorize: a listed Accepted id starts without asking
        b.cp.o["local_pre_auth"] = True
        n = len(b.csms.of("Authorize"))
        assert await b.station.authorize("friend") == ("Accepted", None)
        assert len(b.csms.of("Authorize")) == n
        assert await b.station.authorize("banned") == ("Accepted", None)  # not Accepted locally: the CSMS decides
        assert len(b.csms.of("Authorize")) == n + 1
    finally:
        b.close()
