# heapsize: 640K
# timeout: 300
# The OCPP charge point in-process over the real pile (fake board and clock, sim physics):
# boot and statuses, a remote start with a budget through Start/MeterValues/Stop with the
# bill's meter values and reasons, sessions that never drew power, offline sessions sent in
# order when back, CALLERROR retries and discards (-1), the queue's bound, power cuts over
# the same journals (no session lost or sent twice), configuration keys, authorization.
import asyncio
import json

from ocppbench import Bench, T0
from firmware.station import Refused


def _mv_energy(p):
    for sv in p["meterValue"][0]["sampledValue"]:
        if sv["measurand"] == "Energy.Active.Import.Register":
            return int(sv["value"])
    return None


async def test_boot_reports_version_and_every_connector_then_a_budgeted_remote_start_is_billed():
    b = Bench(charging={"sample_s": 60})
    try:
        await b.booted()
        boot = b.calls("BootNotification")[0]
        assert boot["firmwareVersion"] == "9.9.9" and boot["chargePointVendor"] == "uPile"
        assert [s["connectorId"] for s in b.calls("StatusNotification")] == [0, 1, 2]
        assert all(s["status"] == "Available" for s in b.calls("StatusNotification"))
        assert b.station.backend_ok  # the trial-boot health rule hears of it
        # the CSMS gives a budget, then starts port 2
        r = b.cp.handlers["DataTransfer"]({"vendorId": "com.upile", "messageId": "Budget",
                                           "data": json.dumps({"connectorId": 2, "idTag": "app-7", "kind": "money",
                                                               "amount": 30})})
        assert r == {"status": "Accepted"}
        assert b.cp.handlers["RemoteStartTransaction"]({"connectorId": 2, "idTag": "app-7"}) == {"status": "Accepted"}
        assert b.station.port(2)["kind"] == "money" and b.station.port(2)["amount"] == 30
        await b.run(5)
        assert not b.calls("StartTransaction")  # no load yet: not a transaction
        b.plug(2)
        await b.run(5)
        await b.until(lambda: b.calls("StartTransaction"))
        st = b.calls("StartTransaction")[0]
        assert st["connectorId"] == 2 and st["idTag"] == "app-7" and st["timestamp"].endswith("Z")
        await b.run(180)
        await b.until(lambda: len(b.calls("MeterValues")) >= 2)
        mv = b.calls("MeterValues")
        assert all(m["transactionId"] == 101 for m in mv)
        assert _mv_energy(mv[1]) >= _mv_energy(mv[0]) >= st["meterStart"]
        txid = b.cp.tx.port_of(101)
        assert txid == 2
        assert b.cp.handlers["RemoteStopTransaction"]({"transactionId": 101}) == {"status": "Accepted"}
        await b.run(2)
        await b.until(lambda: b.calls("StopTransaction"))
        stop = b.calls("StopTransaction")[0]
        bill = b.rig.bills(2)[-1]
        assert stop["transactionId"] == 101 and stop["reason"] == "Remote"
        assert stop["meterStop"] == bill["meter_stop"] and st["meterStart"] == bill["meter_start"]
        assert stop["meterStop"] - st["meterStart"] == bill["energy_mwh"] // 1000 or \
            bill["meter_stop_mwh"] // 1000 - bill["meter_start_mwh"] // 1000 == stop["meterStop"] - st["meterStart"]
        await b.until(lambda: not b.station.pending_bills())  # acked when its Stop was answered
        statuses = [s["status"] for s in b.calls("StatusNotification") if s["connectorId"] == 2]
        assert statuses[:4] == ["Available", "Preparing", "Charging", "Finishing"], statuses
        # every message of ours carries a fresh id
        ids = [c[0] for c in b.csms.calls]
        assert len(ids) == len(set(ids))
    finally:
        b.close()


async def test_a_session_that_never_drew_power_is_no_transaction():
    b = Bench(charging={"noload_s": 20})
    try:
        await b.booted()
        assert b.cp.handlers["RemoteStartTransaction"]({"connectorId": 1, "idTag": "t"}) == {"status": "Accepted"}
        await b.run(25)
        await b.until(lambda: b.station.port(1)["status"] == "Available")
        await b.settle(100)
        assert not b.calls("StartTransaction") and not b.calls("StopTransaction")
        assert not b.station.pending_bills()  # its zero bill was acked: nothing to deliver
        sts = [s["status"] for s in b.calls("StatusNotification") if s["connectorId"] == 1]
        assert "Finishing" not in sts and sts[-1] == "Available", sts
    finally:
        b.close()


async def test_offline_sessions_go_out_in_order_when_back_and_the_pile_keeps_charging():
    b = Bench(charging={"sample_s": 60})
    try:
        await b.booted()
        b.online = False
        b.drop()
        await b.until(lambda: not b.cp.accepted.is_set())
        b.station.start(1, "full", 0, "card-1", "card")
        b.plug(1)
        await b.run(200)
        b.station.stop(1, "Local", "card")
        await b.run(2)
        assert b.cp.txq.pending() >= 4 and b.station.pending_bills()
        b.online = True
        await b.until(lambda: b.calls("StopTransaction"), ms=8000)
        kinds = [c[1] for c in b.csms.calls if c[1] in ("StartTransaction", "MeterValues", "StopTransaction")]
        assert kinds[0] == "StartTransaction" and kinds[-1] == "StopTransaction" and "MeterValues" in kinds
        ts = [m["meterValue"][0]["timestamp"] for m in b.calls("MeterValues")]
        assert ts == sorted(ts)  # in the order they were taken
        assert b.calls("StopTransaction")[0]["reason"] == "Local"
        assert b.calls("StopTransaction")[0]["idTag"] == "card-1"
        assert len(b.csms.of("BootNotification")) == 1  # a reconnect is not a reboot
        await b.until(lambda: not b.station.pending_bills())
    finally:
        b.close()


async def test_callerrors_are_retried_then_discarded_and_the_session_goes_on_as_minus_one():
    b = Bench(ocpp={"tx_attempts": 2, "tx_retry_s": 1})
    try:
        await b.booted()
        b.csms.errors["StartTransaction"] = 2
        b.station.start(1, "full", 0, "x", "card")
        b.plug(1)
        await b.run(5)
        await b.until(lambda: len(b.csms.of("StartTransaction")) == 2, ms=5000)
        ids = [c[0] for c in b.csms.of("StartTransaction")]
        assert ids[0] != ids[1] and ids[1] == ids[0] + ".1"  # a new id after a CALLERROR
        b.station.stop(1, "Local", "card")
        await b.run(1)
        await b.until(lambda: b.calls("StopTransaction"), ms=5000)
        assert b.calls("StopTransaction")[0]["transactionId"] == -1  # errata 3.18
        await b.until(lambda: not b.station.pending_bills())
        # a discarded Stop leaves the queue but not the pile's journal
        b.csms.errors["StopTransaction"] = 5
        b.station.start(2, "full", 0, "y", "card")
        b.plug(2)
        await b.run(5)
        await b.until(lambda: b.cp.txq.txid_of(b.station.port(2)["id"]) is not None, ms=5000)
        sid = b.station.port(2)["id"]
        b.station.stop(2, "Local", "card")
        await b.run(1)
        await b.until(lambda: sid in b.cp.txq.discarded, ms=8000)
        assert [x["id"] for x in b.station.pending_bills()] == [sid]
        assert b.cp.info()["discarded_bills"] == [sid]
        r = b.cp.handlers["DataTransfer"]({"vendorId": "com.upile", "messageId": "PendingBills", "data": "{}"})
        assert json.loads(r["data"])["bills"][0]["id"] == sid
        r = b.cp.handlers["DataTransfer"]({"vendorId": "com.upile", "messageId": "AckBill",
                                           "data": json.dumps({"id": sid})})
        assert r["status"] == "Accepted" and not b.station.pending_bills() and not b.cp.txq.discarded
    finally:
        b.close()


async def test_a_timeout_keeps_the_message_id_for_the_retransmission():
    b = Bench(ocpp={"call_timeout_s": 1})
    try:
        await b.booted()
        b.csms.silent.add("StartTransaction")
        b.station.start(1, "full", 0, "x", "card")
        b.plug(1)
        await b.run(5)
        await b.until(lambda: len(b.csms.of("StartTransaction")) >= 2, ms=12000)
        b.csms.silent.discard("StartTransaction")
        await b.until(lambda: b.cp.txq.txid_of(b.station.port(1)["id"]) is not None, ms=12000)
        ids = set(c[0] for c in b.csms.of("StartTransaction"))
        assert len(ids) == 1  # a permitted retransmission: same id, the CSMS can see the duplicate
        assert b.cp.tx.retransmits >= 1
    finally:
        b.close()


async def test_the_queue_is_bounded_meter_values_go_first_then_sessions_are_refused():
    b = Bench(n=2, ocpp={"queue_kb": 4}, charging={"sample_s": 5})
    try:
        await b.booted()
        b.online = False
        b.drop()
        await b.until(lambda: not b.cp.accepted.is_set())
        b.station.start(1, "full", 0, "a", "card")
        b.plug(1)
        await b.run(600)
        q = b.cp.txq
        assert q.mv_dropped > 0 and q.live <= q.cap  # sampled values were refused for room
        b.station.start(2, "full", 0, "b", "card")  # room made by dropping queued values
        b.plug(2)
        await b.run(30)
        b.station.stop(1, "Local", "card")
        await b.run(2)
        b.station.stop(2, "Local", "card")
        await b.run(2)
        n_after = q.pending()
        # fill with sessions that never end until the next one is refused
        refused = None
        for i in range(20):
            try:
                b.station.start(1, "full", 0, "c%d" % i, "card")
            except Refused as e:
                refused = e.args[0]
                break
            await b.run(5)
            b.station.stop(1, "Local", "card")
            await b.run(2)
        assert refused == "queue_full", refused
        b.online = True
        await b.until(lambda: b.cp.txq.head() is None, ms=15000)
        starts = b.calls("StartTransaction")
        stops = b.calls("StopTransaction")
        assert len(starts) == len(stops) >= 3  # no Start or Stop was ever dropped
        assert not b.station.pending_bills()
        assert n_after > 0
    finally:
        b.close()


async def test_power_cut_sessions_reach_the_csms_exactly_once():
    b = Bench(charging={"resume_after_power_loss": False})
    try:
        await b.booted()
        b.station.start(1, "full", 0, "a", "card")
        b.plug(1)
        b.station.start(2, "full", 0, "b", "card")
        b.plug(2)
        await b.run(10)
        await b.until(lambda: len(b.calls("StartTransaction")) == 2)
        b.online = False
        b.drop()
        await b.run(120)  # charging offline, then the power goes
        b.close()
        calls = b.csms.calls
        b.rig.reboot()
        b2 = Bench(rig=b.rig, data=b.data)
        b2.csms = None
        await b2.booted()
        b2.csms.calls = calls + b2.csms.calls
        await b2.until(lambda: len(b2.calls("StopTransaction")) == 2, ms=8000)
        stops = b2.calls("StopTransaction")
        assert sorted(s["reason"] for s in stops) == ["PowerLoss", "PowerLoss"]
        assert sorted(s["transactionId"] for s in stops) == [101, 102]
        assert len(b2.calls("StartTransaction")) == 2  # not sent again after the reboot
        bills = {x["id"]: x for x in b2.rig.bills()}
        for s in stops:
            assert s["meterStop"] in [x["meter_stop"] for x in bills.values()]
        await b2.until(lambda: not b2.station.pending_bills())
        ids = [c[0] for c in b2.csms.calls]
        assert len(ids) == len(set(ids))  # message ids never repeat across the reboot
        b2.close()
    finally:
        b.close()


async def test_configuration_keys_get_change_and_persist():
    b = Bench()
    try:
        await b.booted()
        h = b.cp.handlers
        r = h["GetConfiguration"]({})
        keys = {k["key"]: k for k in r["configurationKey"]}
        for k in ("AuthorizeRemoteTxRequests", "ClockAlignedDataInterval", "ConnectionTimeOut", "ConnectorPhaseRotation",
                  "GetConfigurationMaxKeys", "HeartbeatInterval", "LocalAuthorizeOffline", "LocalPreAuthorize",
                  "MeterValuesAlignedData", "MeterValuesSampledData", "MeterValueSampleInterval", "NumberOfConnectors",
                  "ResetRetries", "StopTransactionOnInvalidId", "StopTxnAlignedData", "StopTxnSampledData",
                  "SupportedFeatureProfiles", "TransactionMessageAttempts", "TransactionMessageRetryInterval",
                  "UnlockConnectorOnEVSideDisconnect"):
            assert k in keys, k
        assert keys["NumberOfConnectors"] == {"key": "NumberOfConnectors", "readonly": True, "value": "2"}
        assert "value" not in keys["AuthorizationKey"]  # write-only
        r = h["GetConfiguration"]({"key": ["HeartbeatInterval", "Nope"]})
        assert r["unknownKey"] == ["Nope"] and r["configurationKey"][0]["value"] == "300"
        assert h["ChangeConfiguration"]({"key": "Testing", "value": "true"}) == {"status": "NotSupported"}
        assert h["ChangeConfiguration"]({"key": "NumberOfConnectors", "value": "3"}) == {"status": "Rejected"}
        assert h["ChangeConfiguration"]({"key": "MeterValueSampleInterval", "value": "-1"}) == {"status": "Rejected"}
        assert h["ChangeConfiguration"]({"key": "MeterValueSampleInterval", "value": "x"}) == {"status": "Rejected"}
        assert h["ChangeConfiguration"]({"key": "MeterValuesSampledData", "value": "SoC"}) == {"status": "Rejected"}
        assert h["ChangeConfiguration"]({"key": "MeterValueSampleInterval", "value": "15"}) == {"status": "Accepted"}
        assert b.rig.cfg["charging"]["sample_s"] == 15  # the pile samples at once at the new period
        assert h["ChangeConfiguration"]({"key": "MeterValuesSampledData",
                                         "value": "Energy.Active.Import.Register, Power.Active.Import"}) == \
            {"status": "Accepted"}
        assert h["ChangeConfiguration"]({"key": "LocalPreAuthorize", "value": "TRUE"}) == {"status": "Accepted"}
        assert b.rig.cfg["ocpp"]["local_pre_auth"] is True
        from firmware import config

        stored = config.read(b.station.config_path)
        assert stored["charging"]["sample_s"] == 15 and stored["ocpp"]["local_pre_auth"] is True
        # security: profile only rises, needs its credentials; the key is hex of 16-20 bytes
        assert h["ChangeConfiguration"]({"key": "SecurityProfile", "value": "0"}) == {"status": "Rejected"}
        assert h["ChangeConfiguration"]({"key": "SecurityProfile", "value": "1"}) == {"status": "Rejected"}
        assert h["ChangeConfiguration"]({"key": "AuthorizationKey", "value": "00"}) == {"status": "Rejected"}
        assert h["ChangeConfiguration"]({"key": "AuthorizationKey", "value": "4F43415F4F4354545F61646D696E5F74657374"}) \
            == {"status": "Accepted"}
        r = h["GetConfiguration"]({"key": ["AuthorizationKey"]})
        assert r["configurationKey"] == [{"key": "AuthorizationKey", "readonly": False}]
    finally:
        b.close()


async def test_authorize_cache_offline_rules_and_card_taps():
    b = Bench(ocpp={"local_auth_offline": True, "allow_offline_unknown": False})
    try:
        await b.booted()
        b.csms.tags["bad"] = {"status": "Invalid"}
        b.csms.tags["kid"] = {"status": "Accepted", "parentIdTag": "family"}
        b.csms.tags["mum"] = {"status": "Accepted", "parentIdTag": "family"}
        assert await b.station.authorize("good") == ("Accepted", None)
        try:
            await b.station.tap(1, "bad")
            raise AssertionError("an invalid card started a session")
        except Refused as e:
            assert e.args == ("not_authorized", "Invalid")
        assert (await b.station.tap(1, "kid"))[0] == "started"
        try:
            await b.station.tap(1, "stranger")
            raise AssertionError("a stranger stopped it")
        except Refused as e:
            assert e.args[0] == "not_owner"
        assert (await b.station.tap(1, "mum"))[0] == "stopped"  # the same parent id tag
        # offline: the cache decides, unknown ids are refused
        b.online = False
        b.drop()
        await b.until(lambda: not b.cp.accepted.is_set())
        n = len(b.csms.calls)
        assert await b.station.authorize("good") == ("Accepted", None)
        assert (await b.station.authorize("bad"))[0] == "Invalid"
        assert (await b.station.authorize("never-seen"))[0] == "Invalid"
        b.cp.o["allow_offline_unknown"] = True
        assert (await b.station.authorize("never-seen"))[0] == "Accepted"
        assert len(b.csms.calls) == n
        b.online = True
        await b.booted()
        assert b.cp.handlers["ClearCache"]({}) == {"status": "Accepted"}
        assert b.cp.auth.cached("good") is None
    finally:
        b.close()


async def test_a_session_stopped_event_behind_a_reconcile_makes_no_second_transaction():
    # the bus dropped events: reconcile() queued the session's Start and Stop from its bill, both
    # were answered and the bill acked; the session.stopped event that waited in the queue then
    # comes: the session is no new transaction (under load this was a second StartTransaction)
    b = Bench(charging={"sample_s": 60})
    try:
        await b.booted()
        mine = b.station.bus.subscribe("session.", "port.status")
        b.station.start(1, "full", 0, "card-9", "card")
        b.plug(1)
        await b.run(30)
        await b.until(lambda: b.calls("StartTransaction"))
        b.station.stop(1, "Local", "card")
        await b.run(2)
        await b.until(lambda: b.calls("StopTransaction"))
        await b.until(lambda: not b.station.pending_bills())
        seen = {}
        while True:
            ev = mine.get_nowait()
            if ev is None:
                break
            if ev.topic != "port.status" or ev.data["status"] == "Charging":
                seen.setdefault(ev.topic, ev)
        assert seen["session.stopped"].data["id_tag"] == "card-9"
        b.cp.tx.reconcile()
        # late, after its bill was delivered and acked: its start, its Charging, its stop
        b.cp.tx.on_started(seen["session.started"])
        b.cp.tx.on_status(seen["port.status"])
        b.cp.tx.on_stopped(seen["session.stopped"])
        await b.settle(100)
        assert len(b.calls("StartTransaction")) == 1 and len(b.calls("StopTransaction")) == 1
        assert b.cp.txq.pending() == 0
    finally:
        b.close()
