"""OCTT charge-point cases (OCA test case document for OCPP 1.6, FINAL 2024-04, chapter 2) on
the sim board against the bench CSMS, over Wi-Fi: boot, starting and stopping sessions, the
cache, remote actions, resets, unlocking. One test per case, named after it; what our pile
does differently and why is in each docstring and in docs/ocpp.md "OCTT checklist".

The pile is a 2-port socket pile without a plug sensor or a connector lock: it sees a bike
by its load once a session has closed the relay, so "EV driver plugs in" before any
identification produces no status, and a session becomes an OCPP transaction at its first
load. "Present identification" is a card tap (the service cable's `tap`, station.tap).
One board runs the cases of this file in turn; each leaves the pile idle and Available.
"""
# long: 75 s (started first by tests/conftest.py, so it is not the suite's tail)
import time

import pytest

from ocppsim import case_on, OcppPile, txid_of
from upile.csms import Csms, CsmsCallError

CP = "CP1"


@pytest.fixture(scope="module")
def env():
    with Csms() as c:
        # hold_s=0: the HLW8032's 5 s no-load delay would show the last bike's power to a new
        # session on the same port (a charging-domain matter); these cases reuse ports at once
        with OcppPile(c, CP, cfg={"charging": {"fault_clear_s": 2}}, hold_s=0) as pile:
            yield c, pile


@pytest.fixture
def c(env):
    c, pile = env
    yield c
    c.tags.clear()


@pytest.fixture
def pile(env, request):
    with case_on(env, request) as pile:
        yield pile
        pile.idle()


def charging(c, pile, port, tag):
    """Reusable state Charging (OCTT 2.25): a card tapped, a bike plugged, the transaction open."""
    m = c.mark(CP)
    assert pile.tap(port, tag).startswith("ok started"), "tap refused"
    pile.plug(port)
    pile.wait_status(port, "Charging")
    mid, _ = pile.csms.wait(lambda: (c.calls(CP, "StartTransaction", m) or [None])[0], 30, "StartTransaction")
    return txid_of(c, pile.p, mid)


def statuses(c, port, since):
    return [p["status"] for _, p in c.calls(CP, "StatusNotification", since) if p["connectorId"] == port]


def test_TC_001_CS_cold_boot_rejected_then_accepted_then_heartbeats(c, pile):
    p = pile.p
    p.boot_plan = ["Rejected", "Accepted"]
    p.boot_interval = 3
    m = c.mark(CP)
    rejected = pile.console().count("BootNotification Rejected")
    pile.cut()
    pile.on(boots=0)
    c.wait(lambda: len(c.calls(CP, "BootNotification", m)) >= 1, 30, "boot")
    t_rejected = time.monotonic()
    c.wait(lambda: pile.console().count("BootNotification Rejected") > rejected, 30, "the Rejected at the pile")
    with pytest.raises(TimeoutError):  # while rejected the pile answers nothing
        c.call(CP, "GetConfiguration", {}, timeout=1)
    c.wait(lambda: len(c.calls(CP, "BootNotification", m)) >= 2, 30, "the second boot")
    assert time.monotonic() - t_rejected >= 1.5  # only after the interval (3 s, less our call's second)
    calls = c.calls(CP, None, m)
    assert [a for _, a, _ in calls[:2]] == ["BootNotification", "BootNotification"]  # nothing between
    boot = calls[0][2]
    assert boot["firmwareVersion"] and boot["chargePointVendor"] == "uPile"
    pile.settled()
    assert [pile.status_of(i) for i in (0, 1, 2)] == ["Available"] * 3
    hb = c.wait(lambda: (lambda h: h if len(h) >= 2 else None)(
        [t for t, d, x in p.log[m:] if d == "in" and '"Heartbeat"' in x]), 20, "two heartbeats")
    assert 2.4 <= hb[1] - hb[0] <= 6, hb  # every interval (3 s) while idle
    p.boot_interval = 300


def test_TC_002_CS_cold_boot_pending_configured_then_accepted(c, pile):
    p = pile.p
    p.boot_plan = ["Pending", "Accepted"]
    p.boot_interval = 4
    m = c.mark(CP)
    pile.cut()
    pile.on(boots=0)
    c.wait(lambda: len(c.calls(CP, "BootNotification", m)) >= 1, 30, "boot")
    vals, unknown = c.get_config(CP)  # answered while pending
    assert "MeterValueSampleInterval" in vals and not unknown
    assert c.set_config(CP, "MeterValueSampleInterval", "30") == "Accepted"
    c.wait(lambda: len(c.calls(CP, "BootNotification", m)) >= 2, 30, "the second boot")
    calls = [a for _, a, _ in c.calls(CP, None, m)]
    assert calls[:2] == ["BootNotification", "BootNotification"]  # no request of ours while pending
    pile.settled()
    assert c.get_config(CP, ["MeterValueSampleInterval"])[0] == {"MeterValueSampleInterval": "30"}
    assert c.set_config(CP, "MeterValueSampleInterval", "0") == "Accepted"
    p.boot_interval = 300


def test_TC_003_CS_plugin_first(c, pile):
    """Plugged in first: no Preparing at the plug (no plug sensor: the bike is seen by its
    load once the relay closed); identification -> Authorize -> the session -> Charging and
    StartTransaction."""
    m = c.mark(CP)
    pile.plug(1)
    time.sleep(1)
    assert statuses(c, 1, m) == []  # not applicable: nothing to see before a relay closes
    assert pile.tap(1, "card-003").startswith("ok started")
    pile.wait_status(1, "Charging")
    st = c.wait(lambda: c.calls(CP, "StartTransaction", m), 30, "StartTransaction")
    assert c.calls(CP, "Authorize", m)[0][1] == {"idTag": "card-003"}
    assert st[0][1]["idTag"] == "card-003"
    assert "Preparing" in statuses(c, 1, m) or statuses(c, 1, m)[0] == "Charging"
    assert pile.tap(1, "card-003").startswith("ok stopped")


def test_TC_004_1_CS_identification_first(c, pile):
    m = c.mark(CP)
    assert pile.tap(2, "card-004").startswith("ok started")
    pile.wait_status(2, "Preparing")
    assert not c.calls(CP, "StartTransaction", m)  # no load yet: not a transaction
    pile.plug(2)
    pile.wait_status(2, "Charging")
    st = c.wait(lambda: c.calls(CP, "StartTransaction", m), 30, "StartTransaction")
    assert st[0][1]["idTag"] == "card-004" and st[0][1]["connectorId"] == 2
    assert pile.tap(2, "card-004").startswith("ok stopped")


def test_TC_004_2_CS_identification_first_connection_timeout(c, pile):
    assert c.set_config(CP, "ConnectionTimeOut", "5") == "Accepted"
    try:
        m = c.mark(CP)
        assert pile.tap(1, "card-0042").startswith("ok started")
        pile.wait_status(1, "Preparing")
        t0 = time.monotonic()
        pile.wait_status(1, "Available", 20)
        assert time.monotonic() - t0 >= 3
        assert not c.calls(CP, "StartTransaction", m) and not c.calls(CP, "StopTransaction", m), (statuses(c, 1, m), c.calls(CP, None, m), pile.console()[-3000:])
        assert "Finishing" not in statuses(c, 1, m)  # it never was a transaction
    finally:
        assert c.set_config(CP, "ConnectionTimeOut", "30") == "Accepted"


def test_TC_068_CS_stop_with_the_same_idtag(c, pile):
    txid = charging(c, pile, 1, "card-A")
    m = c.mark(CP)
    assert pile.tap(1, "card-B") == "err not_owner tap"
    time.sleep(1)
    assert not c.calls(CP, "Authorize", m) and not c.calls(CP, "StopTransaction", m)
    assert pile.tap(1, "card-A").startswith("ok stopped")
    stop = pile.wait_stopped(txid)
    assert stop["idTag"] == "card-A" and stop.get("reason", "Local") == "Local"
    assert "Finishing" in statuses(c, 1, m)


def test_TC_069_CS_stop_with_the_same_parent_idtag(c, pile):
    c.tags["kid-card"] = ("Accepted", "family-7")
    c.tags["mum-card"] = ("Accepted", "family-7")
    txid = charging(c, pile, 2, "kid-card")
    m = c.mark(CP)
    assert pile.tap(2, "mum-card").startswith("ok stopped")
    assert c.calls(CP, "Authorize", m)[0][1] == {"idTag": "mum-card"}
    stop = pile.wait_stopped(txid)
    assert stop["idTag"] == "mum-card"
    pile.wait_status(2, "Available")
    assert "Finishing" in statuses(c, 2, m)


def test_TC_005_1_CS_ev_side_disconnected_stops_the_transaction(c, pile):
    """StopTransactionOnEVSideDisconnect is read-only true (an unplugged bike always ends its
    session); UnlockConnectorOnEVSideDisconnect read-only false (no lock to release)."""
    vals, _ = c.get_config(CP, ["StopTransactionOnEVSideDisconnect", "UnlockConnectorOnEVSideDisconnect"])
    assert vals == {"StopTransactionOnEVSideDisconnect": "true", "UnlockConnectorOnEVSideDisconnect": "false"}
    txid = charging(c, pile, 1, "card-51")
    m = c.mark(CP)
    pile.unplug(1)
    stop = pile.wait_stopped(txid)
    assert stop["reason"] == "EVDisconnected"
    pile.wait_status(1, "Available")
    assert statuses(c, 1, m)[0] == "Finishing"


def test_TC_005_2_CS_ev_side_disconnected_then_unlock(c, pile):
    txid = charging(c, pile, 2, "card-52")
    pile.unplug(2)
    assert pile.wait_stopped(txid)["reason"] == "EVDisconnected"
    assert c.call(CP, "UnlockConnector", {"connectorId": 2})["status"] == "NotSupported"  # no lock


def test_TC_007_CS_remote_start_with_a_cached_idtag(c, pile):
    for k in ("AuthorizationCacheEnabled", "AuthorizeRemoteTxRequests", "LocalPreAuthorize"):
        assert c.set_config(CP, k, "true") == "Accepted"
    try:
        assert pile.tap(1, "cached-7").startswith("ok started")  # Authorize: now in the cache
        assert pile.tap(1, "cached-7").startswith("ok stopped")
        pile.wait_status(1, "Available")
        m = c.mark(CP)
        pile.plug(1)
        assert c.start(CP, 1, "cached-7") == "Accepted"
        pile.wait_status(1, "Charging")
        pile.csms.wait(lambda: c.calls(CP, "StartTransaction", m), 30, "StartTransaction")
        assert not c.calls(CP, "Authorize", m)  # pre-authorized from the cache
        assert "Preparing" in statuses(c, 1, m)
    finally:
        for k in ("AuthorizeRemoteTxRequests", "LocalPreAuthorize"):
            assert c.set_config(CP, k, "false") == "Accepted"


def test_TC_061_CS_clear_authorization_cache(c, pile):
    assert c.set_config(CP, "LocalPreAuthorize", "true") == "Accepted"
    assert c.set_config(CP, "ConnectionTimeOut", "5") == "Accepted"
    try:
        assert pile.tap(2, "clear-me").startswith("ok started")  # Authorized, Preparing
        pile.wait_status(2, "Preparing")
        pile.wait_status(2, "Available", 20)  # connection timeout: nobody plugged in
        assert c.call(CP, "ClearCache", {})["status"] == "Accepted"
        m = c.mark(CP)
        assert pile.tap(2, "clear-me").startswith("ok started")
        assert c.calls(CP, "Authorize", m)[0][1] == {"idTag": "clear-me"}  # the cache is empty
        pile.wait_status(2, "Preparing")
        pile.wait_status(2, "Available", 20)
    finally:
        assert c.set_config(CP, "LocalPreAuthorize", "false") == "Accepted"
        assert c.set_config(CP, "ConnectionTimeOut", "30") == "Accepted"


def test_TC_010_CS_remote_start_cable_plugged_in_first(c, pile):
    pile.plug(1)
    m = c.mark(CP)
    assert c.start(CP, 1, "app-010") == "Accepted"
    pile.wait_status(1, "Charging")
    mid, st = pile.csms.wait(lambda: (c.calls(CP, "StartTransaction", m) or [None])[0], 30, "StartTransaction")
    assert st["idTag"] == "app-010"
    txid = txid_of(c, pile.p, mid)
    assert c.stop(CP, txid) == "Accepted"
    pile.wait_stopped(txid)


def test_TC_011_1_CS_remote_start_first(c, pile):
    vals, _ = c.get_config(CP, ["AuthorizeRemoteTxRequests"])
    assert vals == {"AuthorizeRemoteTxRequests": "false"}
    m = c.mark(CP)
    assert c.start(CP, 2, "app-011") == "Accepted"
    pile.wait_status(2, "Preparing")
    pile.plug(2)
    pile.wait_status(2, "Charging")
    mid, _ = pile.csms.wait(lambda: (c.calls(CP, "StartTransaction", m) or [None])[0], 30, "StartTransaction")
    assert not c.calls(CP, "Authorize", m)
    txid = txid_of(c, pile.p, mid)  # the handler may still be recording it when the frame is logged
    assert pile.p.tx[txid]["start"]["connectorId"] == 2
    assert c.stop(CP, txid) == "Accepted"
    pile.wait_stopped(txid)


def test_TC_011_2_CS_remote_start_time_out(c, pile):
    assert c.set_config(CP, "ConnectionTimeOut", "5") == "Accepted"
    try:
        m = c.mark(CP)
        assert c.start(CP, 1, "app-0112") == "Accepted"
        pile.wait_status(1, "Preparing")
        pile.wait_status(1, "Available", 20)
        assert not c.calls(CP, "StartTransaction", m)
    finally:
        assert c.set_config(CP, "ConnectionTimeOut", "30") == "Accepted"


def test_TC_012_CS_remote_stop(c, pile):
    txid = charging(c, pile, 1, "card-012")
    m = c.mark(CP)
    assert c.stop(CP, txid) == "Accepted"
    stop = pile.wait_stopped(txid)
    assert stop["reason"] == "Remote"
    pile.wait_status(1, "Available")
    assert statuses(c, 1, m)[0] == "Finishing"


def _reset_without_tx(c, pile, kind):
    p = pile.p
    assert c.call(CP, "ChangeAvailability", {"connectorId": 1, "type": "Inoperative"})["status"] == "Accepted"
    pile.wait_status(1, "Unavailable")
    boots = p.boots
    m = c.mark(CP)
    assert c.call(CP, "Reset", {"type": kind})["status"] == "Accepted"
    c.wait_pile(CP, 60, boots=boots + 1)
    c.wait(lambda: len([1 for _, x in c.calls(CP, "StatusNotification", m) if x["connectorId"] in (0, 1, 2)]) >= 3,
           30, "statuses after the reset")
    after = {x["connectorId"]: x["status"] for _, x in c.calls(CP, "StatusNotification", m)}
    assert after == {0: "Available", 1: "Unavailable", 2: "Available"}  # availability persists
    assert c.call(CP, "ChangeAvailability", {"connectorId": 1, "type": "Operative"})["status"] == "Accepted"
    pile.wait_status(1, "Available")


def test_TC_013_CS_hard_reset_without_transaction(c, pile):
    _reset_without_tx(c, pile, "Hard")


def test_TC_014_CS_soft_reset_without_transaction(c, pile):
    _reset_without_tx(c, pile, "Soft")


def test_TC_015_CS_hard_reset_with_transaction(c, pile):
    """The pile restarts at once; the StopTransaction (HardReset) goes after the reboot
    (errata 3.36: "after reboot + Accepted if possible")."""
    txid = charging(c, pile, 2, "card-015")
    boots = pile.p.boots
    assert c.call(CP, "Reset", {"type": "Hard"})["status"] == "Accepted"
    c.wait_pile(CP, 60, boots=boots + 1)
    stop = pile.wait_stopped(txid, 30)
    assert stop["reason"] == "HardReset"
    pile.settled()


def test_TC_016_CS_soft_reset_with_transaction(c, pile):
    txid = charging(c, pile, 1, "card-016")
    boots = pile.p.boots
    m = c.mark(CP)
    assert c.call(CP, "Reset", {"type": "Soft"})["status"] == "Accepted"
    stop = pile.wait_stopped(txid, 30)
    assert stop["reason"] == "SoftReset"
    c.wait_pile(CP, 60, boots=boots + 1)
    calls = [a for _, a, _ in c.calls(CP, None, m)]
    assert calls.index("StopTransaction") < calls.index("BootNotification")  # stopped before going down
    pile.settled()


def test_TC_017_1_CS_unlock_without_a_session(c, pile):
    """Errata 3.87: a socket without a connector lock answers NotSupported (the OCTT case
    expects Unlocked and has no variant for a pile without a lock; docs/ocpp.md)."""
    assert c.call(CP, "UnlockConnector", {"connectorId": 1})["status"] == "NotSupported"


def test_TC_018_1_CS_unlock_with_a_session(c, pile):
    """The session ends first (UnlockCommand), then NotSupported: there is no lock (errata 3.87)."""
    txid = charging(c, pile, 2, "card-018")
    m = c.mark(CP)
    assert c.call(CP, "UnlockConnector", {"connectorId": 2})["status"] == "NotSupported"
    stop = pile.wait_stopped(txid)
    assert stop["reason"] == "UnlockCommand"
    pile.unplug(2)
    pile.wait_status(2, "Available")
    assert statuses(c, 2, m)[0] == "Finishing"


def test_TC_031_CS_unlock_unknown_connector(c, pile):
    assert c.call(CP, "UnlockConnector", {"connectorId": 9})["status"] == "NotSupported"


def test_TC_026_CS_remote_start_on_an_occupied_connector_is_rejected(c, pile):
    charging(c, pile, 1, "card-026")
    assert c.start(CP, 1, "app-026") == "Rejected"


def test_TC_027_CS_remote_start_on_connector_0_is_rejected(c, pile):
    assert c.start(CP, 0, "app-027") == "Rejected"


def test_TC_028_CS_remote_stop_of_an_unknown_transaction_is_rejected(c, pile):
    charging(c, pile, 2, "card-028")
    assert c.stop(CP, 99999) == "Rejected"


def test_TC_023_CS_authorize_invalid(c, pile):
    c.tags["bad-023"] = ("Invalid", None)
    m = c.mark(CP)
    assert pile.tap(1, "bad-023") == "err not_authorized Invalid"
    time.sleep(1)
    assert c.calls(CP, "Authorize", m)[0][1] == {"idTag": "bad-023"}
    assert not c.calls(CP, "StartTransaction", m) and pile.status_of(1) == "Available"


def test_TC_062_CS_data_transfer_to_an_unknown_vendor(c, pile):
    r = c.call(CP, "DataTransfer", {"vendorId": "com.example.other", "messageId": "x", "data": "{}"})
    assert r["status"] == "UnknownVendorId"
    r = c.call(CP, "DataTransfer", {"vendorId": "com.upile", "messageId": "Teleport", "data": "{}"})
    assert r["status"] == "UnknownMessageId"
    with pytest.raises(CsmsCallError) as e:
        c.call(CP, "DataTransfer", {"messageId": "x"})
    assert e.value.args[0] == "ProtocolError"
