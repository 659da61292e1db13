# heapsize: 640K
# timeout: 120
# ExtendedTriggerMessage in-process (ocppbench): answered first, then the message; the signed
# firmware and log statuses (Idle when idle, the running request's otherwise); a connector
# that does not exist; MeterValues of every port with the context Trigger.
from ocppbench import Bench


async def _trigger(b, msg, c=None):
    p = {"requestedMessage": msg}
    if c is not None:
        p["connectorId"] = c
    r = b.cp.handlers["ExtendedTriggerMessage"](p)
    if isinstance(r, tuple):
        r, after = r
        await after()
    await b.settle(50)
    return r["status"]


async def test_each_message_it_names():
    b = Bench()
    try:
        await b.booted()
        n_boot, n_hb = len(b.calls("BootNotification")), len(b.calls("Heartbeat"))
        n_st = len(b.calls("StatusNotification"))
        assert await _trigger(b, "BootNotification") == "Accepted"
        await b.until(lambda: len(b.calls("BootNotification")) == n_boot + 1)
        assert await _trigger(b, "Heartbeat") == "Accepted"
        await b.until(lambda: len(b.calls("Heartbeat")) == n_hb + 1)
        assert await _trigger(b, "StatusNotification", 2) == "Accepted"
        await b.until(lambda: len(b.calls("StatusNotification")) == n_st + 1)
        assert b.calls("StatusNotification")[-1]["connectorId"] == 2
        assert await _trigger(b, "StatusNotification") == "Accepted"  # every connector
        await b.until(lambda: len(b.calls("StatusNotification")) == n_st + 4)
        assert await _trigger(b, "StatusNotification", 9) == "Rejected"
        assert await _trigger(b, "FirmwareStatusNotification") == "Accepted"
        await b.until(lambda: b.calls("SignedFirmwareStatusNotification") == [{"status": "Idle"}])
        assert await _trigger(b, "LogStatusNotification") == "Accepted"
        await b.until(lambda: b.calls("LogStatusNotification") == [{"status": "Idle"}])
        # a request in progress: its last status and requestId

        b.cp.fw.st = {"rid": 44, "ph": "Downloading"}
        assert await _trigger(b, "FirmwareStatusNotification") == "Accepted"
        await b.until(lambda: b.calls("SignedFirmwareStatusNotification")[-1:] == [{"status": "Downloading",
                                                                                   "requestId": 44}])
        n_mv = len(b.calls("MeterValues"))
        assert await _trigger(b, "MeterValues", 1) == "Accepted"
        await b.until(lambda: len(b.calls("MeterValues")) == n_mv + 1)
        mv = b.calls("MeterValues")[-1]
        assert mv["connectorId"] == 1 and mv["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
        assert await _trigger(b, "MeterValues", 9) == "Rejected"
        assert await _trigger(b, "SignChargePointCertificate") == "Rejected"  # no CpoName set
    finally:
        b.close()
