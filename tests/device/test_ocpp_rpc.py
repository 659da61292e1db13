# heapsize: 128K
# (compiled from source here, the generated schema tables' parse peaks near 96K: a clean clone
# failed at 96K where this tree passed; a device loads them as .mpy or frozen, bench/ocpp.py)
# OCPP-J framing and validation inside MicroPython: the generated schema tables against good
# and bad payloads (each fault its CALLERROR code), date-times, one own CALL outstanding with
# the CSMS's CALLs answered meanwhile, late and stray answers dropped, nothing a CSMS sends
# crashing the reader.
import asyncio

from ocppfakes import FakeWs
from waits import until
from firmware.proto.ocpp import dt, rpc, validate


def _code(action, payload):
    try:
        validate.request(action, payload)
    except validate.Invalid as e:
        return e.args[0]
    return None


def test_good_payloads_pass_the_official_schemas():
    ok = [
        ("RemoteStartTransaction", {"idTag": "app-1"}),
        ("RemoteStartTransaction", {"connectorId": 2, "idTag": "x" * 20, "chargingProfile": {
            "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute", "validFrom": "2025-01-01T00:00:00.123+08:00",
            "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 100.5}, {"startPeriod": 60, "limit": 80, "numberPhases": 1}]}}}),
        ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}),
        ("GetConfiguration", {}), ("GetConfiguration", {"key": ["A", "B"]}),
        ("ClearCache", {}), ("Reset", {"type": "Soft"}), ("UnlockConnector", {"connectorId": 1}),
        ("DataTransfer", {"vendorId": "com.upile", "messageId": "Budget", "data": "{}"}),
        ("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}),
    ]
    for action, p in ok:
        assert _code(action, p) is None, (action, p)


def test_each_fault_gets_its_callerror_code():
    bad = [
        ("RemoteStartTransaction", {}, "ProtocolError"),  # idTag missing
        ("RemoteStartTransaction", {"idTag": 5}, "TypeConstraintViolation"),
        ("RemoteStartTransaction", {"idTag": "x" * 21}, "PropertyConstraintViolation"),
        ("RemoteStartTransaction", {"idTag": "a", "colour": "red"}, "FormationViolation"),
        ("RemoteStartTransaction", {"idTag": "a", "connectorId": 1.5}, "TypeConstraintViolation"),
        ("RemoteStartTransaction", {"idTag": "a", "connectorId": True}, "TypeConstraintViolation"),
        ("Reset", {"type": "Sideways"}, "PropertyConstraintViolation"),
        ("Reset", [], "FormationViolation"),
        ("Reset", None, "FormationViolation"),
        ("GetConfiguration", {"key": "HeartbeatInterval"}, "TypeConstraintViolation"),
        ("GetConfiguration", {"key": ["x" * 51]}, "PropertyConstraintViolation"),
        ("RemoteStartTransaction", {"idTag": "a", "chargingProfile": {
            "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute", "validFrom": "yesterday",
            "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": []}}},
         "PropertyConstraintViolation"),
        ("RemoteStartTransaction", {"idTag": "a", "chargingProfile": {
            "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"limit": 3}]}}},
         "ProtocolError"),  # startPeriod missing deep inside
        ("RemoteStartTransaction", {"idTag": "a", "chargingProfile": {
            "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute", "stackLevels": 1,
            "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": []}}},
         "FormationViolation"),  # a field of another level is still unknown here
    ]
    for action, p, code in bad:
        assert _code(action, p) == code, (action, p, _code(action, p), code)
    # the answers to our own calls are checked too
    for p, code in (({"status": "Accepted", "currentTime": "2025-01-01T00:00:00Z"}, "ProtocolError"),
                    ({"status": "Maybe", "currentTime": "2025-01-01T00:00:00Z", "interval": 1},
                     "PropertyConstraintViolation")):
        try:
            validate.response("BootNotification", p)
            raise AssertionError("accepted %r" % p)
        except validate.Invalid as e:
            assert e.args[0] == code, e.args
    # an array under its minItems (the security whitepaper's and MeterValues' shapes)
    try:
        validate.check("{a!a1i}", {"a": []}, ())
        raise AssertionError("empty array accepted")
    except validate.Invalid as e:
        assert e.args[0] == "OccurenceConstraintViolation"
    assert validate.known("ReserveNow") and validate.known("Heartbeat") and not validate.known("Teleport")


def test_date_times_both_ways():
    for s in ("2025-02-28T23:59:59Z", "2024-02-29T12:00:00.5Z", "2025-01-01T08:00:00+08:00",
              "1999-12-31T20:00:00-04:00"):
        assert validate.datetime_ok(s), s
    for s in ("2025-02-28 23:59:59Z", "2025-13-01T00:00:00Z", "2025-01-01T00:00:00", "2025-01-01T24:00:00Z",
              "2025-01-01T00:00:00+8:00", "2025-01-01T00:00:00.Z", "x"):
        assert not validate.datetime_ok(s), s
    assert dt.iso(0) == "1970-01-01T00:00:00Z"
    assert dt.iso(1709208000) == "2024-02-29T12:00:00Z"
    assert dt.unix("2024-02-29T12:00:00.999Z") == 1709208000
    assert dt.unix("2024-02-29T20:00:00+08:00") == 1709208000
    assert dt.unix("2000-01-01T00:00:00Z") == 946684800
    for t in (951782400, 1735689599, 4102444800, 1704067200 + 86400 * 59):
        assert dt.unix(dt.iso(t)) == t


def _rpc(handlers=None, timeout_ms=300):
    r = rpc.Rpc(handlers or {}, timeout_ms)
    ws = FakeWs()
    task = asyncio.create_task(r.serve(ws))
    return r, ws, task


async def test_unknown_unsupported_invalid_and_failing_calls_get_their_codes():
    def boom(p):
        raise ValueError("bug")

    r, ws, task = _rpc({"Reset": lambda p: {"status": "Accepted"}, "ClearCache": boom,
                        "GetConfiguration": lambda p: (_ for _ in ()).throw(rpc.CallError("NotSupported", "x"))})
    ws.feed([2, "a", "Teleport", {}])
    ws.feed([2, "b", "ReserveNow", {"connectorId": 1}])
    ws.feed([2, "c", "Reset", {"type": "Soft", "extra": 1}])
    ws.feed([2, "d", "Reset", {"type": "Hard"}])
    ws.feed([2, "e", "ClearCache", {}])
    await ws.wait_out(5)
    assert ws.out[0][:3] == [4, "a", "NotImplemented"]
    assert ws.out[1][:3] == [4, "b", "NotSupported"]
    assert ws.out[2][:3] == [4, "c", "FormationViolation"]
    assert ws.out[3] == [3, "d", {"status": "Accepted"}]
    assert ws.out[4][:3] == [4, "e", "InternalError"]
    assert len(ws.out[4]) == 5 and ws.out[4][4] == {}
    task.cancel()


async def test_garbage_never_crashes_the_reader():
    r, ws, task = _rpc({"Reset": lambda p: {"status": "Accepted"}})
    for junk in ("not json", "{}", "[]", "[2]", "[9,\"x\",{}]", "[2,\"x\",5,{}]", "[2,12,\"Reset\",{}]",
                 "[2,\"" + "y" * 37 + "\",\"Reset\",{}]", b"\x00\x01", "[3,\"nobody\",{}]",
                 "[4,\"-1\",\"RpcFrameworkError\",\"x\",{}]", "[\"2\",\"x\",\"Reset\",{}]"):
        ws.feed(junk)
    ws.feed([2, "ok", "Reset", {"type": "Soft"}])
    await ws.wait_out(2)
    assert ws.out[0][:3] == [4, "x", "FormationViolation"]  # an action that is not a string
    assert ws.out[1] == [3, "ok", {"status": "Accepted"}]
    assert r.dropped >= 9 and not task.done()
    task.cancel()


async def test_one_call_outstanding_and_the_peers_calls_answered_meanwhile():
    r, ws, task = _rpc({"Reset": lambda p: {"status": "Accepted"}}, timeout_ms=2000)
    t1 = asyncio.create_task(r.call("Heartbeat", {}, "1.1"))
    t2 = asyncio.create_task(r.call("Heartbeat", {}, "1.2"))
    await ws.wait_out(1)
    await asyncio.sleep_ms(20)
    assert len(ws.calls()) == 1  # the second waits for the first's answer
    ws.feed([2, "c1", "Reset", {"type": "Soft"}])  # the CSMS's own call crosses ours
    await ws.wait_out(2)
    assert ws.out[1] == [3, "c1", {"status": "Accepted"}]
    ws.feed([3, "1.1", {"currentTime": "2025-01-01T00:00:00Z"}])
    assert (await t1)["currentTime"] == "2025-01-01T00:00:00Z"
    await ws.wait_out(3)
    assert ws.out[2] == [2, "1.2", "Heartbeat", {}]
    ws.feed([4, "1.2", "InternalError", "busy", {}])
    try:
        await t2
        raise AssertionError("no CallError")
    except rpc.CallError as e:
        assert e.code == "InternalError"
    task.cancel()


async def test_timeouts_late_answers_bad_answers_and_a_lost_connection():
    r, ws, task = _rpc(timeout_ms=100)
    await asyncio.sleep_ms(0)  # the reader task takes the connection
    try:
        await r.call("Heartbeat", {}, "t1")
        raise AssertionError("no timeout")
    except rpc.Timeout:
        pass
    ws.feed([3, "t1", {"currentTime": "2025-01-01T00:00:00Z"}])  # late: dropped, not given to the next
    c = asyncio.create_task(r.call("Heartbeat", {}, "t2"))
    await ws.wait_out(2)
    ws.feed([3, "t2", {"currentTime": 12}])
    try:
        await c
        raise AssertionError("bad answer accepted")
    except rpc.BadAnswer as e:
        assert e.args[0] == "TypeConstraintViolation"
    assert r.dropped == 1
    c = asyncio.create_task(r.call("Heartbeat", {}, "t3"))
    await ws.wait_out(3)
    ws.abort()
    try:
        await c
        raise AssertionError("no Offline")
    except rpc.Offline:
        pass
    await asyncio.sleep_ms(10)
    assert task.done() and r.ws is None
    try:
        await r.call("Heartbeat", {}, "t4")
        raise AssertionError("sent without a connection")
    except rpc.Offline:
        pass


async def test_rejected_boot_leaves_the_csms_calls_unanswered_and_after_hooks_run():
    ran = []

    async def later():
        ran.append(1)

    r, ws, task = _rpc({"Reset": lambda p: ({"status": "Accepted"}, later)})
    r.answering = False
    ws.feed([2, "x", "Reset", {"type": "Soft"}])
    await asyncio.sleep_ms(30)
    assert ws.out == []
    r.answering = True
    ws.feed([2, "y", "Reset", {"type": "Soft"}])
    await ws.wait_out(1)
    await asyncio.sleep_ms(10)
    assert ws.out == [[3, "y", {"status": "Accepted"}]] and ran == [1]
    task.cancel()


async def test_invalid_messages_and_replayed_ids_are_security_events_once_per_connection():
    ran = []
    r = rpc.Rpc({"Reset": lambda p: ran.append(p) or {"status": "Accepted"}}, 300)
    events = []
    r.on_security = lambda kind, tech: events.append((kind, tech))
    ws = FakeWs()
    task = asyncio.create_task(r.serve(ws))
    ws.feed("not json")
    ws.feed([2, "s1", "Reset", {"type": "Sideways"}])  # breaks the schema: answered, no second event
    ws.feed([2, "r1", "Reset", {"type": "Soft"}])
    ws.feed([2, "r1", "Reset", {"type": "Soft"}])  # the same id again: not run twice
    ws.feed([2, "r1", "Reset", {"type": "Hard"}])
    await ws.wait_out(4)
    assert ws.out[0][:3] == [4, "s1", "PropertyConstraintViolation"]
    assert ws.out[1] == [3, "r1", {"status": "Accepted"}]
    assert ws.out[2][:3] == [4, "r1", "SecurityError"] and ws.out[3][:3] == [4, "r1", "SecurityError"]
    assert ran == [{"type": "Soft"}]
    assert [k for k, _ in events] == ["InvalidMessages", "AttemptedReplayAttacks"], events
    assert "not JSON" in events[0][1] and "r1" in events[1][1]
    # ids older than the remembered window are not taken for replays; a new connection starts afresh
    for i in range(9):
        ws.feed([2, "n%d" % i, "Reset", {"type": "Soft"}])
    ws.feed([2, "n0", "Reset", {"type": "Soft"}])
    await ws.wait_out(14)
    assert ws.out[13] == [3, "n0", {"status": "Accepted"}] and len(ran) == 11
    task.cancel()
    ws2 = FakeWs()
    task = asyncio.create_task(r.serve(ws2))
    ws2.feed([2, "r1", "Reset", {"type": "Soft"}])
    ws2.feed(b"\x00")
    await ws2.wait_out(1)
    assert ws2.out[0] == [3, "r1", {"status": "Accepted"}]
    await until(lambda: len(events) == 3, 1000)
    assert events[2][0] == "InvalidMessages" and "binary" in events[2][1], events
    task.cancel()
