"""OCPP part 3 on the sim board against the bench CSMS (docs/ocpp.md "Part 3"): reservations
used, expiring and cancelled; every TriggerMessage; the local authorization list deciding
while the CSMS is away, and its differential update; a ChargePointMaxProfile that sheds the
newest session at its second and lets it restart when the limit rises again.

One 2-port board runs the cases in turn; each leaves the pile idle and Available. The bench
CSMS's clock is the host's, and the pile takes its time from the CSMS, so an expiry or a
schedule start given in host time is the pile's time too (within a second).
"""
# long: 130 s (started first by tests/conftest.py, so it is not the suite's tail)
import json
import time
from datetime import datetime, timezone

import pytest

from ocppsim import case_on, OcppPile
from upile.csms import Csms

CP = "CP1"


def iso(t):
    return datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def env():
    with Csms() as c:
        with OcppPile(c, CP, cfg={"wifi": {"connect_timeout_ms": 2000},
                                  "net": {"backoff_min_ms": 200, "backoff_max_ms": 1000, "check_ms": 200}},
                      hold_s=0) as pile:
            yield c, pile


@pytest.fixture
def c(env):
    c, pile = env
    yield c
    c.tags.clear()


@pytest.fixture
def pile(env, request):
    c, _ = env
    with case_on(env, request) as pile:
        yield pile
        pile.b.net.restore("depot")
        c.wait(lambda: pile.p.connected, 60, "the pile back")
        c.call(CP, "ClearChargingProfile", {})
        pile.idle()


def statuses(c, port, since):
    return [p["status"] for _, p in c.calls(CP, "StatusNotification", since) if p["connectorId"] == port]


def reserve(c, port, rid, tag, secs):
    return c.call(CP, "ReserveNow", {"connectorId": port, "expiryDate": iso(time.time() + secs), "idTag": tag,
                                     "reservationId": rid})["status"]


def test_a_reservation_is_used_by_its_id_tag_only(c, pile):
    m = c.mark(CP)
    assert reserve(c, 1, 101, "resv-1", 300) == "Accepted"
    pile.wait_status(1, "Reserved")
    assert reserve(c, 1, 102, "resv-2", 300) == "Occupied"
    assert pile.tap(1, "someone-else").startswith("err reserved")
    assert pile.tap(1, "resv-1").startswith("ok started")
    pile.plug(1)
    pile.wait_status(1, "Charging")
    _, st = c.wait(lambda: (c.calls(CP, "StartTransaction", m) or [None])[0], 30, "StartTransaction")
    assert st["reservationId"] == 101 and st["idTag"] == "resv-1"
    assert c.call(CP, "CancelReservation", {"reservationId": 101})["status"] == "Rejected"  # used
    assert statuses(c, 1, m)[:2] == ["Reserved", "Preparing"]


def test_a_reservation_expires_and_one_is_cancelled(c, pile):
    m = c.mark(CP)
    assert reserve(c, 2, 201, "late", 6) == "Accepted"
    pile.wait_status(2, "Reserved")
    t0 = time.monotonic()
    pile.wait_status(2, "Available", 30)
    assert time.monotonic() - t0 < 12
    assert reserve(c, 1, 202, "x", 300) == "Accepted"
    pile.wait_status(1, "Reserved")
    assert c.call(CP, "CancelReservation", {"reservationId": 202})["status"] == "Accepted"
    pile.wait_status(1, "Available")
    assert c.call(CP, "CancelReservation", {"reservationId": 202})["status"] == "Rejected"
    assert pile.tap(1, "anyone").startswith("ok started")  # the port is free again
    assert statuses(c, 2, m) == ["Reserved", "Available"]


def _answered(pile, mid):
    """The bench CSMS answered the pile's CALL mid with a CALLRESULT."""
    for _, d, t in list(pile.p.log):
        if d == "out":
            m = json.loads(t)
            if m[0] == 3 and m[1] == mid:
                return True
    return False


def test_every_trigger_is_answered_first_then_sent(c, pile):
    for what in ("BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification", "Heartbeat",
                 "MeterValues", "StatusNotification"):
        m = c.mark(CP)
        p = {"requestedMessage": what}
        if what in ("MeterValues", "StatusNotification"):
            p["connectorId"] = 2
        r = c.call(CP, "TriggerMessage", p)
        if what == "BootNotification":
            assert r["status"] == "Rejected"  # once accepted (errata 3.35)
            continue
        assert r["status"] == "Accepted", what
        mid, got = c.wait(lambda: (c.calls(CP, what, m) or [None])[0], 20, "triggered " + what)
        log = [(d, t) for _, d, t in pile.p.log[m:]]
        i_ans = [i for i, (d, t) in enumerate(log) if d == "in" and t.startswith("[3,")][0]
        i_msg = [i for i, (d, t) in enumerate(log) if d == "in" and ('"%s"' % mid) in t and t.startswith("[2,")][0]
        assert i_ans < i_msg, what  # the answer went first
        assert c.wait(lambda: _answered(pile, mid), 10, "the CSMS's CALLRESULT to the triggered " + what)
        if what == "StatusNotification":
            assert got["connectorId"] == 2 and got["status"] == "Available"
        if what == "MeterValues":
            assert got["connectorId"] == 2 and got["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
        if what.endswith("StatusNotification") and what != "StatusNotification":
            assert got == {"status": "Idle"}
    for bad in ({"requestedMessage": "StatusNotification", "connectorId": 3},
                {"requestedMessage": "MeterValues", "connectorId": 7}):
        assert c.call(CP, "TriggerMessage", bad)["status"] == "Rejected"


def test_the_local_list_decides_while_the_csms_is_away_and_takes_a_differential_update(c, pile):
    assert c.set_config(CP, "AllowOfflineTxForUnknownId", "false") == "Accepted"
    assert c.set_config(CP, "LocalAuthorizeOffline", "true") == "Accepted"
    r = c.call(CP, "SendLocalList", {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [
        {"idTag": "list-ok", "idTagInfo": {"status": "Accepted"}},
        {"idTag": "list-blocked", "idTagInfo": {"status": "Blocked"}}]})
    assert r["status"] == "Accepted"
    assert c.call(CP, "GetLocalListVersion", {})["listVersion"] == 1
    pile.b.net.drop("depot")
    c.wait(lambda: not pile.p.connected, 30, "the pile offline")
    asked = len(pile.p.authorized)
    assert pile.tap(1, "list-ok").startswith("ok started")
    assert "Blocked" in pile.tap(2, "list-blocked")
    assert "Invalid" in pile.tap(2, "not-listed")
    assert len(pile.p.authorized) == asked
    pile.b.net.restore("depot")
    c.wait(lambda: pile.p.connected, 60, "the pile back")
    r = c.call(CP, "SendLocalList", {"listVersion": 1, "updateType": "Differential", "localAuthorizationList": []})
    assert r["status"] == "VersionMismatch"
    r = c.call(CP, "SendLocalList", {"listVersion": 2, "updateType": "Differential", "localAuthorizationList": [
        {"idTag": "list-blocked", "idTagInfo": {"status": "Accepted"}}, {"idTag": "list-ok"}]})
    assert r["status"] == "Accepted"
    assert c.call(CP, "GetLocalListVersion", {})["listVersion"] == 2
    pile.svc.command("stop 1", timeout=10)
    pile.b.net.drop("depot")
    c.wait(lambda: not pile.p.connected, 30, "the pile offline")
    assert pile.tap(2, "list-blocked").startswith("ok started")  # now listed Accepted
    assert "Invalid" in pile.tap(1, "list-ok")  # deleted from the list (and never cached: listed then)


def test_a_lowered_pile_limit_sheds_the_newest_session_at_its_second_and_restarts_it(c, pile):
    assert pile.tap(1, "older").startswith("ok started")
    pile.plug(1, cc_w=300)
    pile.wait_status(1, "Charging")
    assert pile.tap(2, "newer").startswith("ok started")
    pile.plug(2, cc_w=300)
    pile.wait_status(2, "Charging")
    t0 = int(time.time()) + 2
    prof = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "ChargePointMaxProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {"startSchedule": iso(t0), "chargingRateUnit": "W", "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 2000}, {"startPeriod": 15, "limit": 400},
                {"startPeriod": 40, "limit": 2000}]}}
    m = c.mark(CP)
    assert c.call(CP, "SetChargingProfile", {"connectorId": 0, "csChargingProfiles": prof})["status"] == "Accepted"
    per = c.call(CP, "GetCompositeSchedule", {"connectorId": 0, "duration": 60})["chargingSchedule"][
        "chargingSchedulePeriod"]
    assert [x["limit"] for x in per][-3:] == [2000, 400, 2000], per
    assert per[-1]["startPeriod"] - per[-2]["startPeriod"] == 25 and per[-2]["startPeriod"] - per[-3]["startPeriod"] == 15
    pile.wait_status(2, "SuspendedEVSE", 40)
    shed_at = time.time()
    assert t0 + 15 - 1 <= shed_at <= t0 + 15 + 3, shed_at - t0  # at its second (plus a control step)
    assert pile.status_of(1) == "Charging"  # the older session keeps charging
    sn = [p for _, p in c.calls(CP, "StatusNotification", m) if p["connectorId"] == 2 and p["status"] == "SuspendedEVSE"]
    assert sn and sn[0].get("info") == "power_cap"
    pile.wait_status(2, "Charging", 60)
    back = time.time()
    assert t0 + 40 - 1 <= back <= t0 + 40 + 10, back - t0  # when raised, after the pile's 5 s hold
    assert c.calls(CP, "StopTransaction", m) == []  # suspended, never stopped: the same transaction


def test_a_recurring_daily_profile_crosses_midnight(monkeypatch):
    """A Daily window from 23:59:35 for 40 s (its startSchedule the day before): the CSMS's
    clock, which the pile takes, is set to 23:59:05 of some day; the window sheds a port at its
    second and lets it restart after midnight, 00:00:15."""
    from upile.csms import server

    day = (int(time.time()) // 86400 + 3) * 86400  # a midnight to come
    off = day - 55 - time.time()  # the CSMS's clock: 23:59:05 now
    monkeypatch.setattr(server, "now_iso", lambda: iso(time.time() + off))
    with Csms() as c, OcppPile(c, "CPM", hold_s=0) as pile:
        for port, tag in ((1, "first"), (2, "second")):
            assert pile.tap(port, tag).startswith("ok started")
            pile.plug(port, cc_w=300)
            pile.wait_status(port, "Charging")
        prof = {"chargingProfileId": 9, "stackLevel": 0, "chargingProfilePurpose": "ChargePointMaxProfile",
                "chargingProfileKind": "Recurring", "recurrencyKind": "Daily",
                "chargingSchedule": {"startSchedule": iso(day - 86400 - 25), "duration": 40, "chargingRateUnit": "W",
                                     "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 400}]}}
        assert time.time() + off < day - 25 - 5, "the pile took too long to charge two ports"
        assert c.call("CPM", "SetChargingProfile", {"connectorId": 0, "csChargingProfiles": prof})["status"] == "Accepted"
        pile.wait_status(2, "SuspendedEVSE", 60)
        pile.wait_status(2, "Charging", 60)
        sn = [p for _, p in c.calls("CPM", "StatusNotification") if p["connectorId"] == 2]
        shed = [unix_of(p["timestamp"]) for p in sn if p["status"] == "SuspendedEVSE"][-1]
        back = [unix_of(p["timestamp"]) for p in sn if p["status"] == "Charging"][-1]
        assert day - 25 <= shed <= day - 25 + 2, shed - day  # 23:59:35 (the pile's clock)
        assert day + 15 <= back <= day + 15 + 8, back - day  # after midnight: 00:00:15 plus the 5 s hold
        assert pile.status_of(1) == "Charging"


def unix_of(s):
    return int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())
