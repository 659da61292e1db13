"""TriggerMessage (OCPP 1.6 5.17, errata 3.35; docs/ocpp.md "Remote trigger").

The answer goes first; the message follows once it left (rpc's `after`), sent directly (a
triggered message is no transaction message: not queued, not retried).
- a connectorId the pile does not have: Rejected (TC_055 accepts Rejected);
- BootNotification: Rejected once the boot is Accepted (errata 3.35); while Pending the
  boot is sent now instead of after its interval;
- Heartbeat; StatusNotification of that connector (none given: connector 0 and every port),
  the status as it is now even when the CSMS has it;
- MeterValues of that port (none or 0: every port), the sampled measurands, context Trigger,
  with the transactionId of a running transaction;
- DiagnosticsStatusNotification and FirmwareStatusNotification: "Idle" (no upload runs; the
  pile is updated through SignedUpdateFirmware, OCPP part 2, which reports its own status).
"""
import log
from firmware.proto.ocpp import rpc

_log = log.get("ocpp")
_FAILS = (rpc.CallError, rpc.BadAnswer, rpc.Timeout, rpc.Offline)


def trigger(cp, p):
    what = p["requestedMessage"]
    c = p.get("connectorId")
    n = cp.station.ports()
    if c is not None and not 0 <= c <= n:
        return {"status": "Rejected"}
    if what == "BootNotification":
        if cp.boot.state == "Accepted":
            return {"status": "Rejected"}
        cp.boot.kick.set()
        return {"status": "Accepted"}
    if what == "StatusNotification":
        conns = [c] if c is not None else list(range(n + 1))

        async def after():
            for k in conns:
                await _status(cp, k)
    elif what == "MeterValues":
        ports = [c] if c else list(range(1, n + 1))

        async def after():
            for k in ports:
                await _meter(cp, k)
    elif what == "Heartbeat":
        async def after():
            await _send(cp, "Heartbeat", {})
    else:  # DiagnosticsStatusNotification, FirmwareStatusNotification
        async def after():
            await _send(cp, what, {"status": "Idle"})
    return {"status": "Accepted"}, after


async def _send(cp, action, payload):
    try:
        r = await cp.rpc.call(action, payload, cp.ids.next())
    except _FAILS as e:
        _log.warn("triggered %s: %r", action, e)
        return None
    if action == "Heartbeat":
        cp.boot.clock(r["currentTime"])
    return r


async def _status(cp, c):
    st = cp.status
    cur = st.cur[c]
    if cur is None:
        return
    p = {"connectorId": c, "errorCode": cur[1], "status": cur[0]}
    now = cp.station.bus.now()
    if now is not None:
        from firmware.proto.ocpp import dt

        p["timestamp"] = dt.iso(now)
    if await _send(cp, "StatusNotification", p) is not None:
        st.delivered(c, p)


async def _meter(cp, port):
    from firmware.proto.ocpp import dt, meter
    from firmware.proto.ocpp.tx import _sv

    info = cp.station.port(port)
    v = meter.values(info, cp.o["sampled_data"])
    if not v:
        return
    mv = {"sampledValue": [_sv(x, "Trigger") for x in v]}
    now = cp.station.bus.now()
    if now is None:
        return  # a MeterValue needs its timestamp: nothing to send before the time is known
    mv["timestamp"] = dt.iso(now)
    p = {"connectorId": port, "meterValue": [mv]}
    sid = info.get("id")
    txid = cp.txq.txid_of(sid) if sid is not None else None
    if txid is not None:
        p["transactionId"] = txid
    await _send(cp, "MeterValues", p)
