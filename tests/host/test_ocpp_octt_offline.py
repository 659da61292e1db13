"""OCTT charge-point cases on the sim board, part 2: configuration keys, meter values, power
failures, offline behaviour, faults (OCA test case document for OCPP 1.6, chapter 2).
"Remove connectivity" is the Wi-Fi access point going out of range (the pile's link
manager sees it; its OCPP connection ends and comes back over the restored link) or, where
marked, the CSMS refusing connections; a power cut is a SIGKILL of the sim chip.
"""
import time

import pytest

from ocppsim import case_on, OcppPile, txid_of
from upile.csms import Csms

CP = "CP2"


@pytest.fixture(scope="module")
def env():
    with Csms() as c:
        with OcppPile(c, CP, cfg={"charging": {"fault_clear_s": 2},
                                  "wifi": {"connect_timeout_ms": 2000},
                                  "net": {"backoff_min_ms": 200, "backoff_max_ms": 1000, "check_ms": 200}},
                      hold_s=0) as pile:
            yield c, pile


@pytest.fixture
def c(env):
    c, pile = env
    yield c
    c.tags.clear()
    c.refuse = None


@pytest.fixture
def pile(env, request):
    c, _ = env
    with case_on(env, request) as pile:
        yield pile
        pile.b.net.restore("depot")
        c.refuse = None
        c.wait_pile(CP, 60, boots=pile.p.boots)
        pile.idle()


def offline(c, pile):
    """The Wi-Fi goes: the pile notices, its OCPP connection ends."""
    pile.b.net.drop("depot")
    c.wait(lambda: not pile.p.connected, 30, "the pile offline")


def online(c, pile):
    pile.b.net.restore("depot")
    c.wait(lambda: pile.p.connected, 60, "the pile back")


def charging(c, pile, port, tag):
    m = c.mark(CP)
    assert pile.tap(port, tag).startswith("ok started")
    pile.plug(port)
    pile.wait_status(port, "Charging")
    mid, _ = c.wait(lambda: (c.calls(CP, "StartTransaction", m) or [None])[0], 30, "StartTransaction")
    return txid_of(c, pile.p, mid)


def test_TC_019_CS_retrieve_configuration(c, pile):
    r = c.call(CP, "GetConfiguration", {"key": ["SupportedFeatureProfiles"]})
    assert r["configurationKey"] == [{"key": "SupportedFeatureProfiles", "readonly": True,
                                    "value": "Core,Reservation,RemoteTrigger,LocalAuthListManagement,SmartCharging"}]
    assert not r.get("unknownKey")
    keys = {k["key"]: k for k in c.call(CP, "GetConfiguration", {})["configurationKey"]}
    access = {"AuthorizeRemoteTxRequests": None, "ClockAlignedDataInterval": False, "ConnectionTimeOut": False,
              "ConnectorPhaseRotation": False, "GetConfigurationMaxKeys": True, "HeartbeatInterval": False,
              "LocalAuthorizeOffline": False, "LocalPreAuthorize": False, "MeterValuesAlignedData": False,
              "MeterValuesSampledData": False, "MeterValueSampleInterval": False, "NumberOfConnectors": True,
              "ResetRetries": False, "StopTransactionOnInvalidId": False, "StopTxnAlignedData": False,
              "StopTxnSampledData": False, "SupportedFeatureProfiles": True, "TransactionMessageAttempts": False,
              "TransactionMessageRetryInterval": False, "UnlockConnectorOnEVSideDisconnect": None}
    for k, ro in access.items():
        assert k in keys, k
        if ro is not None:
            assert keys[k]["readonly"] is ro, k
    n = int(keys["GetConfigurationMaxKeys"]["value"])
    pick = sorted(keys)[: min(n, len(keys))]
    r = c.call(CP, "GetConfiguration", {"key": pick})
    assert sorted(k["key"] for k in r["configurationKey"]) == pick and not r.get("unknownKey")


def test_TC_021_CS_change_configuration(c, pile):
    assert c.set_config(CP, "MeterValueSampleInterval", "17") == "Accepted"
    assert c.get_config(CP, ["MeterValueSampleInterval"])[0] == {"MeterValueSampleInterval": "17"}
    assert c.set_config(CP, "MeterValueSampleInterval", "0") == "Accepted"


def test_TC_040_1_CS_unknown_configuration_key(c, pile):
    assert c.set_config(CP, "Testing", "true") == "NotSupported"


def test_TC_040_2_CS_invalid_configuration_value(c, pile):
    """Rejected satisfies both readings (the case also accepts a CALLERROR)."""
    assert c.set_config(CP, "MeterValueSampleInterval", "-1") == "Rejected"
    assert c.get_config(CP, ["MeterValueSampleInterval"])[0] == {"MeterValueSampleInterval": "0"}


def test_TC_070_CS_sampled_meter_values(c, pile):
    assert c.set_config(CP, "ClockAlignedDataInterval", "0") == "Accepted"
    assert c.set_config(CP, "MeterValuesSampledData",
                        "Energy.Active.Import.Register,Power.Active.Import,Voltage,Current.Import,Temperature") \
        == "Accepted"
    assert c.set_config(CP, "MeterValueSampleInterval", "2") == "Accepted"
    try:
        txid = charging(c, pile, 1, "card-070")
        vals = c.wait(lambda: (lambda v: v if len(v) >= 3 else None)(pile.p.tx[txid]["values"]), 30, "3 meter values")
        ts = [v["meterValue"][0]["timestamp"] for v in vals[:3]]
        secs = [int(t[17:19]) + 60 * int(t[14:16]) for t in ts]
        assert all(1 <= (b - a) % 3600 <= 3 for a, b in zip(secs, secs[1:])), ts  # every 2 s
        for v in vals[:3]:
            svs = v["meterValue"][0]["sampledValue"]
            assert all(sv["context"] == "Sample.Periodic" for sv in svs)
            got = {sv["measurand"]: sv for sv in svs}
            assert set(got) == {"Energy.Active.Import.Register", "Power.Active.Import", "Voltage", "Current.Import",
                                "Temperature"}
            assert got["Temperature"]["unit"] == "Celcius"  # as the errata tell a charge point to spell it
            assert got["Energy.Active.Import.Register"]["unit"] == "Wh" and isinstance(got["Voltage"]["value"], str)
            assert 200 < float(got["Voltage"]["value"]) < 240 and float(got["Power.Active.Import"]["value"]) > 100
    finally:
        assert c.set_config(CP, "MeterValueSampleInterval", "0") == "Accepted"
        assert c.set_config(CP, "MeterValuesSampledData", "Energy.Active.Import.Register") == "Accepted"


def test_TC_071_CS_clock_aligned_meter_values(c, pile):
    assert c.set_config(CP, "MeterValueSampleInterval", "0") == "Accepted"
    assert c.set_config(CP, "ClockAlignedDataInterval", "5") == "Accepted"
    try:
        txid = charging(c, pile, 2, "card-071")
        vals = c.wait(lambda: (lambda v: v if len(v) >= 2 else None)(pile.p.tx[txid]["values"]), 30, "2 values")
        for v in vals[:2]:
            t = v["meterValue"][0]["timestamp"]
            assert int(t[17:19]) % 5 == 0, t  # on the clock: 0, 5, 10... s
            assert v["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Clock"
            assert v["meterValue"][0]["sampledValue"][0]["measurand"] == "Energy.Active.Import.Register"
        assert v["transactionId"] == txid
    finally:
        assert c.set_config(CP, "ClockAlignedDataInterval", "0") == "Accepted"


def test_TC_032_2_CS_power_failure_then_the_session_goes_on(c, pile):
    """The pile resumes a session after a power cut (charging.resume_after_power_loss, the
    default): the same transaction goes on, then the card stops it (Local). A pile that does
    not resume stops it with PowerLoss (test_ocpp_powercut.py)."""
    txid = charging(c, pile, 1, "card-0322")
    boots = pile.p.boots
    pile.cut()
    pile.on(boots + 1)
    pile.wait_status(1, "Charging", 60)
    assert pile.p.tx[txid]["stop"] is None and len(pile.running()) == 1
    assert pile.tap(1, "card-0322").startswith("ok stopped")
    stop = pile.wait_stopped(txid)
    assert stop.get("reason", "Local") == "Local"


def test_TC_034_CS_power_failure_with_unavailable_status(c, pile):
    assert c.call(CP, "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})["status"] == "Accepted"
    c.wait(lambda: all(pile.status_of(i) == "Unavailable" for i in (0, 1, 2)), 30, "all Unavailable")
    boots = pile.p.boots
    pile.cut()
    pile.on(boots + 1)
    assert all(pile.status_of(i) == "Unavailable" for i in (0, 1, 2))  # as reported after the boot
    assert c.call(CP, "ChangeAvailability", {"connectorId": 0, "type": "Operative"})["status"] == "Accepted"
    c.wait(lambda: all(pile.status_of(i) == "Available" for i in (0, 1, 2)), 30, "all Available")


def test_TC_036_CS_connection_loss_during_a_transaction_keeps_meter_values(c, pile):
    assert c.set_config(CP, "MeterValueSampleInterval", "2") == "Accepted"
    try:
        txid = charging(c, pile, 1, "card-036")
        c.wait(lambda: pile.p.tx[txid]["values"], 30, "a first meter value")
        offline(c, pile)
        pile.csms.wait(lambda: pile.ocpp_info().get("queue", 0) >= 3, 30, "3 values queued while offline")
        n0 = len(pile.p.tx[txid]["values"])
        online(c, pile)
        vals = c.wait(lambda: (lambda v: v if len(v) >= n0 + 4 else None)(pile.p.tx[txid]["values"]), 30, "the queue")
        ts = [v["meterValue"][0]["timestamp"] for v in vals]
        assert ts == sorted(ts)  # the queued ones in order, before any new one
        assert len(set(ts)) == len(ts)
    finally:
        assert c.set_config(CP, "MeterValueSampleInterval", "0") == "Accepted"


def _cached(c, pile, tag, status="Accepted"):
    """Memory state IdTagCached: the CSMS answered an Authorize of `tag` (the cache keeps it)."""
    c.tags[tag] = (status, None)
    r = pile.tap(1, tag)
    if r.startswith("ok started"):
        assert pile.tap(1, tag).startswith("ok stopped")
    pile.wait_status(1, "Available")


def test_TC_037_1_CS_offline_start_valid_idtag(c, pile):
    _cached(c, pile, "ok-0371")
    offline(c, pile)
    assert pile.tap(2, "ok-0371").startswith("ok started")  # LocalAuthorizeOffline: the cache
    pile.plug(2)
    pile.wait_pile_status(2, "Charging")
    m = c.mark(CP)
    online(c, pile)
    mid, st = c.wait(lambda: (c.calls(CP, "StartTransaction", m) or [None])[0], 30, "StartTransaction")
    assert st["idTag"] == "ok-0371" and st["connectorId"] == 2
    pile.wait_status(2, "Charging")


def _offline_invalid(c, pile, stop_on_invalid, tag):
    """An idTag the pile does not know starts a session offline (AllowOfflineTxForUnknownId);
    back online the CSMS answers its StartTransaction Invalid."""
    assert c.set_config(CP, "StopTransactionOnInvalidId", "true" if stop_on_invalid else "false") == "Accepted"
    assert c.set_config(CP, "AllowOfflineTxForUnknownId", "true") == "Accepted"
    c.tags[tag] = ("Invalid", None)
    offline(c, pile)
    assert pile.tap(1, tag).startswith("ok started")
    pile.plug(1)
    pile.wait_pile_status(1, "Charging")
    m = c.mark(CP)
    online(c, pile)
    assert c.set_config(CP, "AllowOfflineTxForUnknownId", "false") == "Accepted"
    mid, st = c.wait(lambda: (c.calls(CP, "StartTransaction", m) or [None])[0], 30, "StartTransaction")
    txid = txid_of(c, pile.p, mid)
    return txid, m


def test_TC_037_2_CS_offline_start_invalid_idtag_keeps_the_transaction_without_energy(c, pile):
    txid, m = _offline_invalid(c, pile, False, "bad-0372")
    try:
        pile.wait_status(1, "SuspendedEVSE")  # errata 3.17: stop the energy, not the transaction
        assert pile.p.tx[txid]["stop"] is None
        assert c.stop(CP, txid) == "Accepted"
        pile.wait_stopped(txid)
    finally:
        assert c.set_config(CP, "StopTransactionOnInvalidId", "true") == "Accepted"


def test_TC_037_3_CS_offline_start_invalid_idtag_is_stopped_deauthorized(c, pile):
    txid, m = _offline_invalid(c, pile, True, "bad-0373")
    stop = pile.wait_stopped(txid)
    assert stop["reason"] == "DeAuthorized"
    c.wait(lambda: "Finishing" in [x["status"] for _, x in c.calls(CP, "StatusNotification", m)
                                   if x["connectorId"] == 1], 30, "Finishing")


def test_TC_038_CS_offline_stop(c, pile):
    txid = charging(c, pile, 2, "card-038")
    offline(c, pile)
    assert pile.tap(2, "card-038").startswith("ok stopped")
    m = c.mark(CP)
    online(c, pile)
    stop = pile.wait_stopped(txid)
    assert stop.get("reason", "Local") == "Local"
    c.wait(lambda: "Finishing" in [x["status"] for _, x in c.calls(CP, "StatusNotification", m)]
           or pile.status_of(2) == "Available", 30, "the status after the stop")


def test_TC_039_CS_offline_transaction(c, pile):
    _cached(c, pile, "ok-039")
    offline(c, pile)
    assert pile.tap(1, "ok-039").startswith("ok started")
    pile.plug(1)
    pile.wait_pile_status(1, "Charging")
    assert pile.tap(1, "ok-039").startswith("ok stopped")
    pile.unplug(1)
    m = c.mark(CP)
    online(c, pile)
    c.wait(lambda: c.calls(CP, "StopTransaction", m), 30, "StopTransaction")
    names = [a for _, a, _ in c.calls(CP, None, m) if a in ("StartTransaction", "StopTransaction")]
    assert names == ["StartTransaction", "StopTransaction"]
    (mid, st), = c.calls(CP, "StartTransaction", m)
    txid = txid_of(c, pile.p, mid)
    assert pile.p.tx[txid]["stop"].get("reason", "Local") == "Local"
    assert pile.p.tx[txid]["stop"]["meterStop"] >= st["meterStart"]


def test_TC_041_CS_fault_refuses_a_start(c, pile):
    pile.meter.command("silent 1 1")
    try:
        pile.wait_status(1, "Faulted")
        assert pile.p.status[1][1] == "PowerMeterFailure"
        m = c.mark(CP)
        assert pile.tap(1, "card-041").startswith("err port_faulted")
        assert c.start(CP, 1, "app-041") == "Rejected"
        time.sleep(1)
        assert not c.calls(CP, "StartTransaction", m)
    finally:
        pile.meter.command("silent 1 0")
    pile.wait_status(1, "Available", 30)  # the fault clears by itself once readings flow again
