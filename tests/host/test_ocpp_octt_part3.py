"""OCTT charge-point cases of OCPP part 3 (OCA test case document for OCPP 1.6, FINAL 2024-04,
chapter 2: Local Auth List Management, Reservation, Remote Trigger, Smart Charging) on the sim
board against the bench CSMS. One test per applicable case, named after it; docs/ocpp.md
"OCTT checklist, part 3" says which do not apply and why. "Present identification" is a card
tap (the service cable's `tap`); "plugs in" is a bike on the meters' peer. Profiles are in A
(the unit of a socket pile; OCTT's W variant multiplies its limits by 1000, above this pile's
cap). One board runs the cases in turn; each leaves the pile idle and Available.
"""
import time
from datetime import datetime, timezone

import pytest

from ocppsim import case_on, OcppPile
from upile.csms import Csms

CP = "CP1"


def iso(t):
    return datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix(s):
    return int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())


@pytest.fixture(scope="module")
def env():
    with Csms() as c:
        with OcppPile(c, CP, cfg={"charging": {"fault_clear_s": 2}}, hold_s=0) as pile:
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
        for port in (1, 2):
            pile.meter.command("silent %d 0" % port)
        c.call(CP, "ChangeAvailability", {"connectorId": 0, "type": "Operative"})
        c.call(CP, "ClearChargingProfile", {})
        pile.idle()


def reserve(c, port, rid, tag, secs=300, parent=None):
    p = {"connectorId": port, "expiryDate": iso(time.time() + secs), "idTag": tag, "reservationId": rid}
    if parent:
        p["parentIdTag"] = parent
    return c.call(CP, "ReserveNow", p)["status"]


def unavailable(c, pile, port):
    assert c.call(CP, "ChangeAvailability", {"connectorId": port, "type": "Inoperative"})["status"] == "Accepted"
    pile.wait_status(port, "Unavailable")


def start_of(c, since):
    return c.wait(lambda: (c.calls(CP, "StartTransaction", since) or [None])[0], 30, "StartTransaction")[1]


def charging(c, pile, port, tag):
    """Reusable state Charging: a card, a bike, the transaction open; its transactionId."""
    m = c.mark(CP)
    assert pile.tap(port, tag).startswith("ok started")
    pile.plug(port)
    pile.wait_status(port, "Charging")
    mid = c.wait(lambda: (c.calls(CP, "StartTransaction", m) or [None])[0], 30, "StartTransaction")[0]
    return c.wait(lambda: ([t for t, v in pile.p.tx.items() if v["start_id"] == mid] or [None])[0], 10,
                  "the CSMS's transaction")


def profile(pid, purpose, periods, stack=0, dur=None, start=None, txid=None, kind="Absolute", valid_s=None):
    sch = {"chargingRateUnit": "A", "chargingSchedulePeriod": [
        {"startPeriod": a, "limit": b, "numberPhases": 1 if purpose != "ChargePointMaxProfile" else 3} for a, b in periods]}
    if dur is not None:
        sch["duration"] = dur
    if start is not None:
        sch["startSchedule"] = iso(start)
    p = {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
         "chargingProfileKind": kind, "chargingSchedule": sch}
    if txid is not None:
        p["transactionId"] = txid
    if valid_s is not None:
        p["validFrom"], p["validTo"] = iso(start), iso(start + valid_s)
    return p


def set_profile(c, conn, prof):
    return c.call(CP, "SetChargingProfile", {"connectorId": conn, "csChargingProfiles": prof})["status"]


def composite(c, conn, dur, t0=None):
    """GetCompositeSchedule in A: (periods as (startPeriod + x, limit), the schedule) where x is
    the seconds from t0 (the profiles' start) to the schedule's start."""
    r = c.call(CP, "GetCompositeSchedule", {"connectorId": conn, "duration": dur, "chargingRateUnit": "A"})
    assert r["status"] == "Accepted" and r["connectorId"] == conn
    sch = r["chargingSchedule"]
    assert sch["duration"] == dur and sch["chargingRateUnit"] == "A"
    start = unix(sch["startSchedule"])
    assert abs(start - time.time()) <= 3  # OCTT's maximum time deviation
    x = start - t0 if t0 is not None else 0
    return [(p["startPeriod"] + (x if p["startPeriod"] else 0), p["limit"]) for p in sch["chargingSchedulePeriod"]]


def six_amps_to_the_end(per):
    """6 A from now until the 300 s schedule (begun a few seconds ago) ends; the pile's own
    limit after it."""
    assert per[0] == (0, 6.0) and all(sp >= 290 and lim > 6 for sp, lim in per[1:]), per


# ---- Local Auth List Management

def test_TC_042_1_CS_get_local_list_version_not_enabled(c, pile):
    assert c.set_config(CP, "LocalAuthListEnabled", "false") == "Accepted"
    try:
        assert c.call(CP, "GetLocalListVersion", {})["listVersion"] == -1
    finally:
        assert c.set_config(CP, "LocalAuthListEnabled", "true") == "Accepted"


def test_TC_042_2_CS_get_local_list_version_empty(c, pile):
    assert c.call(CP, "SendLocalList", {"listVersion": 1, "updateType": "Full"})["status"] == "Accepted"
    assert c.call(CP, "GetLocalListVersion", {})["listVersion"] == 0


def test_TC_043_CS_send_local_list_full_then_differential(c, pile):
    assert c.set_config(CP, "LocalPreAuthorize", "true") == "Accepted"
    try:
        r = c.call(CP, "SendLocalList", {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [
            {"idTag": "octt-list-1", "idTagInfo": {"status": "Accepted"}}]})
        assert r["status"] == "Accepted"
        r = c.call(CP, "SendLocalList", {"listVersion": 2, "updateType": "Differential", "localAuthorizationList": [
            {"idTag": "octt-list-2", "idTagInfo": {"status": "Accepted"}}]})
        assert r["status"] == "Accepted"
        asked = len(pile.p.authorized)
        assert pile.tap(1, "octt-list-2").startswith("ok started")  # authorized by the list
        assert len(pile.p.authorized) == asked
    finally:
        c.set_config(CP, "LocalPreAuthorize", "false")


def test_TC_043_2_CS_send_local_list_version_mismatch(c, pile):
    one = [{"idTag": "octt-vm", "idTagInfo": {"status": "Accepted"}}]
    assert c.call(CP, "SendLocalList", {"listVersion": 2, "updateType": "Full", "localAuthorizationList": one})[
        "status"] == "Accepted"
    assert c.call(CP, "GetLocalListVersion", {})["listVersion"] == 2
    assert c.call(CP, "SendLocalList", {"listVersion": 5, "updateType": "Differential"})["status"] == "Accepted"
    assert c.call(CP, "GetLocalListVersion", {})["listVersion"] == 5
    assert c.call(CP, "SendLocalList", {"listVersion": 4, "updateType": "Differential"})["status"] == "VersionMismatch"
    assert c.call(CP, "GetLocalListVersion", {})["listVersion"] == 5


def test_TC_043_3_CS_send_local_list_failed(c, pile):
    """The state in which the pile fails: a list longer than SendLocalListMaxLength."""
    n = int(c.get_config(CP, ["SendLocalListMaxLength"])[0]["SendLocalListMaxLength"])
    big = [{"idTag": "big-%d" % i, "idTagInfo": {"status": "Accepted"}} for i in range(n + 1)]
    r = c.call(CP, "SendLocalList", {"listVersion": 2, "updateType": "Full", "localAuthorizationList": big})
    assert r["status"] == "Failed"


def test_TC_008_CS_start_with_an_id_in_the_local_list(c, pile):
    keys = {"LocalPreAuthorize": "true", "AuthorizationCacheEnabled": "false", "LocalAuthListEnabled": "true",
            "AuthorizeRemoteTxRequests": "true"}
    for k, v in keys.items():
        assert c.set_config(CP, k, v) == "Accepted"
    try:
        assert isinstance(c.call(CP, "GetLocalListVersion", {})["listVersion"], int)
        r = c.call(CP, "SendLocalList", {"listVersion": 7, "updateType": "Full", "localAuthorizationList": [
            {"idTag": "octt-008", "idTagInfo": {"status": "Accepted"}}]})
        assert r["status"] == "Accepted"
        m = c.mark(CP)
        assert c.call(CP, "RemoteStartTransaction", {"connectorId": 1, "idTag": "octt-008"})["status"] == "Accepted"
        pile.wait_status(1, "Preparing")
        pile.plug(1)
        st = start_of(c, m)
        assert st["idTag"] == "octt-008"
        pile.wait_status(1, "Charging")
        assert not c.calls(CP, "Authorize", m)  # the list authorized it
    finally:
        for k, v in (("LocalPreAuthorize", "false"), ("AuthorizationCacheEnabled", "true"),
                     ("AuthorizeRemoteTxRequests", "false")):
            c.set_config(CP, k, v)


# ---- Reservation

def test_TC_046_1_CS_reservation_of_a_connector_local_start(c, pile):
    unavailable(c, pile, 2)
    assert reserve(c, 1, 461, "octt-461") == "Accepted"
    pile.wait_status(1, "Reserved")
    assert pile.tap(1, "someone-else").startswith("err reserved")
    m = c.mark(CP)
    assert pile.tap(1, "octt-461").startswith("ok started")
    pile.wait_status(1, "Preparing")
    pile.plug(1)
    st = start_of(c, m)
    assert st["reservationId"] == 461 and st["idTag"] == "octt-461"
    pile.wait_status(1, "Charging")


def test_TC_046_2_CS_reservation_of_a_connector_remote_start(c, pile):
    assert reserve(c, 1, 462, "octt-462") == "Accepted"
    pile.wait_status(1, "Reserved")
    m = c.mark(CP)
    assert c.start(CP, 1, "octt-462") == "Accepted"
    pile.plug(1)
    st = start_of(c, m)
    assert st["reservationId"] == 462 and st["idTag"] == "octt-462"


def test_TC_047_CS_reservation_expires(c, pile):
    unavailable(c, pile, 2)
    m = c.mark(CP)
    assert reserve(c, 1, 47, "octt-047", secs=5) == "Accepted"
    pile.wait_status(1, "Reserved")
    pile.wait_status(1, "Available", 20)
    sts = [p["status"] for _, p in c.calls(CP, "StatusNotification", m) if p["connectorId"] == 1]
    assert sts == ["Reserved", "Available"]
    charging(c, pile, 1, "another-valid")


def test_TC_048_1_CS_reservation_faulted(c, pile):
    pile.meter.command("silent 1 1")
    pile.wait_status(1, "Faulted")
    assert reserve(c, 1, 481, "octt-481") == "Faulted"


def test_TC_048_2_CS_reservation_occupied(c, pile):
    charging(c, pile, 1, "octt-occupier")
    assert reserve(c, 1, 482, "octt-482") == "Occupied"


def test_TC_048_3_CS_reservation_unavailable(c, pile):
    unavailable(c, pile, 1)
    assert reserve(c, 1, 483, "octt-483") == "Unavailable"


def test_TC_049_CS_reservation_of_a_charge_point(c, pile):
    assert c.get_config(CP, ["ReserveConnectorZeroSupported"])[0] == {"ReserveConnectorZeroSupported": "true"}
    unavailable(c, pile, 2)
    assert reserve(c, 0, 49, "octt-049") == "Accepted"
    pile.wait_status(1, "Reserved")
    m = c.mark(CP)
    assert c.start(CP, 1, "octt-049") == "Accepted"
    pile.plug(1)
    st = start_of(c, m)
    assert st["reservationId"] == 49 and st["idTag"] == "octt-049"


def test_TC_050_1_CS_reservation_of_a_charge_point_faulted(c, pile):
    pile.meter.command("silent 1 1")
    pile.meter.command("silent 2 1")
    pile.wait_status(1, "Faulted")
    pile.wait_status(2, "Faulted")
    assert reserve(c, 0, 501, "octt-501") == "Faulted"


def test_TC_050_2_CS_reservation_of_a_charge_point_occupied(c, pile):
    charging(c, pile, 1, "octt-502a")
    charging(c, pile, 2, "octt-502b")
    assert reserve(c, 0, 502, "octt-502") == "Occupied"


def test_TC_050_3_CS_reservation_of_a_charge_point_unavailable(c, pile):
    unavailable(c, pile, 0)
    pile.wait_status(1, "Unavailable")
    pile.wait_status(2, "Unavailable")
    assert reserve(c, 0, 503, "octt-503") == "Unavailable"


def test_TC_051_CS_cancel_reservation(c, pile):
    assert reserve(c, 1, 51, "octt-051") == "Accepted"
    pile.wait_status(1, "Reserved")
    assert c.call(CP, "CancelReservation", {"reservationId": 51})["status"] == "Accepted"
    pile.wait_status(1, "Available")
    m = c.mark(CP)
    charging(c, pile, 1, "octt-051-2")
    assert "reservationId" not in start_of(c, m)


def test_TC_052_CS_cancel_reservation_rejected(c, pile):
    assert reserve(c, 1, 52, "octt-052") == "Accepted"
    pile.wait_status(1, "Reserved")
    assert c.call(CP, "CancelReservation", {"reservationId": 53})["status"] == "Rejected"
    assert pile.status_of(1) == "Reserved"
    assert c.call(CP, "CancelReservation", {"reservationId": 52})["status"] == "Accepted"


def test_TC_053_CS_use_a_reserved_connector_with_parent_id_tag(c, pile):
    unavailable(c, pile, 2)
    c.tags["octt-053-2"] = ("Accepted", "octt-parent")
    assert reserve(c, 1, 530, "octt-053-1", parent="octt-parent") == "Accepted"
    pile.wait_status(1, "Reserved")
    m = c.mark(CP)
    assert pile.tap(1, "octt-053-2").startswith("ok started")
    pile.plug(1)
    st = start_of(c, m)
    assert st["reservationId"] == 530 and st["idTag"] == "octt-053-2"


# ---- Remote Trigger

def test_TC_054_CS_trigger_message(c, pile):
    for what, conn in (("MeterValues", 1), ("Heartbeat", None), ("StatusNotification", 1),
                       ("DiagnosticsStatusNotification", None), ("FirmwareStatusNotification", None)):
        m = c.mark(CP)
        p = {"requestedMessage": what}
        if conn is not None:
            p["connectorId"] = conn
        assert c.call(CP, "TriggerMessage", p)["status"] == "Accepted"
        _, got = c.wait(lambda: (c.calls(CP, what, m) or [None])[0], 20, "triggered " + what)
        if what.endswith("StatusNotification") and what != "StatusNotification":
            assert got == {"status": "Idle"}
        if conn is not None:
            assert got["connectorId"] == conn


def test_TC_055_CS_trigger_message_rejected(c, pile):
    m = c.mark(CP)
    r = c.call(CP, "TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 3})
    assert r["status"] == "Rejected"
    time.sleep(1)
    assert not c.calls(CP, "MeterValues", m)


# ---- Smart Charging

def test_TC_056_CS_central_smart_charging_tx_default_profile(c, pile):
    t0 = int(time.time()) - 2  # OCTT: now - the maximum time deviation
    assert set_profile(c, 1, profile(56, "TxDefaultProfile", [(0, 6)], dur=300, start=t0)) == "Accepted"
    six_amps_to_the_end(composite(c, 1, 300))


def test_TC_057_CS_central_smart_charging_tx_profile(c, pile):
    txid = charging(c, pile, 1, "octt-057")
    t0 = int(time.time()) - 2
    assert set_profile(c, 1, profile(57, "TxProfile", [(0, 6)], dur=300, start=t0, txid=txid)) == "Accepted"
    six_amps_to_the_end(composite(c, 1, 300))


def test_TC_058_1_CS_central_smart_charging_no_ongoing_transaction(c, pile):
    assert set_profile(c, 1, profile(581, "TxProfile", [(0, 6)], start=int(time.time()), txid=12345)) == "Rejected"


def test_TC_058_2_CS_central_smart_charging_wrong_transaction_id(c, pile):
    txid = charging(c, pile, 1, "octt-058")
    assert set_profile(c, 1, profile(582, "TxProfile", [(0, 6)], start=int(time.time()), txid=txid + 1000)) == \
        "Rejected"


def test_TC_082_CS_central_smart_charging_tx_default_profile_with_ongoing_transaction(c, pile):
    charging(c, pile, 1, "octt-082")
    t0 = int(time.time()) - 2
    assert set_profile(c, 1, profile(82, "TxDefaultProfile", [(0, 6)], dur=300, start=t0)) == "Accepted"
    six_amps_to_the_end(composite(c, 1, 300))
    pile.wait_status(1, "Charging")  # 6 A is 1320 W: the 300 W bike charges on


def test_TC_066_CS_get_composite_schedule(c, pile):
    txid = charging(c, pile, 1, "octt-066")
    t0 = int(time.time()) - 2
    assert set_profile(c, 0, profile(661, "ChargePointMaxProfile", [(0, 10)], dur=86400, start=t0)) == "Accepted"
    assert set_profile(c, 1, profile(662, "TxDefaultProfile", [(0, 6), (60, 10), (120, 8), (180, 15), (260, 8)],
                                     dur=300, start=t0, valid_s=401)) == "Accepted"
    assert set_profile(c, 1, profile(663, "TxProfile", [(0, 8), (50, 11), (140, 16), (200, 6), (240, 12)],
                                     dur=260, start=t0, valid_s=401, txid=txid)) == "Accepted"
    assert composite(c, 1, 400, t0) == [(0, 8.0), (50, 10.0), (200, 6.0), (240, 10.0)]


def test_TC_067_CS_clear_charging_profile(c, pile):
    t0 = int(time.time()) - 2
    assert set_profile(c, 1, profile(671, "TxDefaultProfile", [(0, 6), (60, 8), (200, 10)], stack=1, dur=400,
                                     start=t0)) == "Accepted"
    assert set_profile(c, 1, profile(672, "TxDefaultProfile", [(0, 7), (100, 9)], dur=400, start=t0,
                                     valid_s=401)) == "Accepted"
    assert set_profile(c, 0, profile(673, "ChargePointMaxProfile", [(0, 11), (200, 12)], dur=86400, start=t0,
                                     valid_s=401)) == "Accepted"
    assert c.call(CP, "ClearChargingProfile", {"id": 671})["status"] == "Accepted"
    assert composite(c, 1, 350, t0) == [(0, 7.0), (100, 9.0)]
    assert c.call(CP, "ClearChargingProfile", {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 0})[
        "status"] == "Accepted"
    assert composite(c, 1, 350, t0) == [(0, 11.0), (200, 12.0)]
    assert c.call(CP, "ClearChargingProfile", {})["status"] == "Accepted"
    (start, limit), = composite(c, 1, 350)
    assert limit > 12  # the pile's own limit (its configured cap, in A of one phase)


def test_TC_072_CS_stacking_charging_profiles(c, pile):
    t0 = int(time.time()) - 2
    assert set_profile(c, 1, profile(721, "TxDefaultProfile", [(0, 6), (100, 8), (200, 10)], dur=400, start=t0,
                                     valid_s=401)) == "Accepted"
    assert set_profile(c, 1, profile(722, "TxDefaultProfile", [(0, 7), (100, 9)], stack=1, dur=150, start=t0,
                                     valid_s=401)) == "Accepted"
    assert composite(c, 1, 350, t0) == [(0, 7.0), (100, 9.0), (150, 8.0), (200, 10.0)]


def test_TC_059_CS_remote_start_transaction_with_charging_profile(c, pile):
    m = c.mark(CP)
    tp = profile(59, "TxProfile", [(0, 6)], dur=300, kind="Relative")
    assert c.call(CP, "RemoteStartTransaction", {"connectorId": 1, "idTag": "octt-059", "chargingProfile": tp})[
        "status"] == "Accepted"
    pile.plug(1)
    start_of(c, m)
    pile.wait_status(1, "Charging")
    six_amps_to_the_end(composite(c, 1, 300))


def test_TC_060_CS_remote_start_transaction_with_charging_profile_rejected(c, pile):
    m = c.mark(CP)
    bad = profile(60, "TxDefaultProfile", [(0, 6)], dur=300, start=int(time.time()))
    assert c.call(CP, "RemoteStartTransaction", {"connectorId": 1, "idTag": "octt-060", "chargingProfile": bad})[
        "status"] == "Rejected"
    time.sleep(1)
    assert pile.status_of(1) == "Available" and not c.calls(CP, "StartTransaction", m)
