"""ExtendedTriggerMessage (whitepaper 4.13, F06): the answer first, then the message
(docs/ocpp.md "Part 2: ExtendedTriggerMessage"). Imported for the CALL and dropped after it.
Status-like messages go through the guaranteed queue (outq.py); the others are sent once
the answer left (rpc's `after`, one CALL at a time with the sender)."""
import log
from firmware.proto.ocpp import rpc

_log = log.get("ocpp")

_LATER = ("MeterValues",)  # not built yet: NotImplemented


def extended(cp, p):
    m = p["requestedMessage"]
    c = p.get("connectorId")
    if m in _LATER:
        return {"status": "NotImplemented"}
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
            except (rpc.CallError, rpc.BadAnswer, rpc.Timeout, rpc.Offline):
                pass
        elif m == "Heartbeat":
            try:
                await cp.boot.heartbeat()
            except (rpc.CallError, rpc.BadAnswer, rpc.Timeout, rpc.Offline):
                pass
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
            p = cp.use("certsign", "request")  # a new key and its CSR (~ms here, more on a chip)
            try:
                r = await cp.rpc.call("SignCertificate", p, cp.ids.next())
                _log.info("SignCertificate: %s", r.get("status"))
            except (rpc.CallError, rpc.BadAnswer, rpc.Timeout, rpc.Offline) as e:
                _log.warn("SignCertificate: %r", e)
        elif m == "LogStatusNotification":
            t = cp.log_task
            if t is not None and not t.done():
                cp.outq.add("LogStatusNotification", {"status": "Uploading", "requestId": cp.log_rid})
            else:
                cp.outq.add("LogStatusNotification", {"status": "Idle"})

    return {"status": "Accepted"}, after
