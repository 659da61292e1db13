"""TriggerMessage (OCPP 1.6 5.17, errata 3.35; docs/ocpp.md "Remote trigger") and the
security whitepaper's ExtendedTriggerMessage (4.13, F06; docs/ocpp.md "Part 2").

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
ExtendedTriggerMessage: the same answer-first rule; its status-like messages go through the
guaranteed queue (outq.py); BootNotification is sent whatever the boot's state.
"""
import log
from firmware.proto.ocpp import cpcert, rpc

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

    info = cp.station.port(port)
    v = meter.values(info, cp.o["sampled_data"])
    if not v:
        return
    mv = {"sampledValue": [meter.sv(x, "Trigger") for x in v]}
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


def extended(cp, p):
    m = p["requestedMessage"]
    c = p.get("connectorId")
    if c is not None and not 0 <= c <= cp.status.n:
        return {"status": "Rejected"}
    if m == "SignChargePointCertificate" and not cp.o["cpo_name"]:
        return {"status": "Rejected"}  # the CSR's O must be CpoName [W A02]

    async def after():
        if m == "BootNotification":
            from firmware.proto.ocpp import boot

            try:
                r = await cp.rpc.call("BootNotification", boot.fields(cp), cp.ids.next())
                cp.boot.clock(r.get("currentTime", ""))
            except _FAILS:
                pass
        elif m == "Heartbeat":
            try:
                await cp.boot.heartbeat()
            except _FAILS:
                pass
        elif m == "MeterValues":
            for k in [c] if c else range(1, cp.status.n + 1):
                await _meter(cp, k)
        elif m == "StatusNotification":
            s = cp.status
            for k in range(s.n + 1) if c is None else (c,):
                s.sent[k] = None  # differs from what the CSMS has: sent again, newest status
                if k not in s.dirty:
                    s.dirty.append(k)
            cp.wake.set()
        elif m == "FirmwareStatusNotification":  # the signed variant's (L01.FR.12; Idle when idle)
            st = cp.fw.active()
            if st is not None and st.get("ph"):
                cp.outq.add("SignedFirmwareStatusNotification", {"status": st["ph"], "requestId": st["rid"]})
            else:
                cp.outq.add("SignedFirmwareStatusNotification", {"status": "Idle"})
        elif m == "SignChargePointCertificate":
            await cpcert.sign_request(cp)
        elif m == "LogStatusNotification":
            t = cp.log_task
            if t is not None and not t.done():
                cp.outq.add("LogStatusNotification", {"status": "Uploading", "requestId": cp.log_rid})
            else:
                cp.outq.add("LogStatusNotification", {"status": "Idle"})

    return {"status": "Accepted"}, after
