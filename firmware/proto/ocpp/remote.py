"""The CSMS's commands on the pile: RemoteStart/StopTransaction, Reset, ChangeAvailability,
UnlockConnector (OCPP 1.6 5.2, 5.11, 5.12, 5.14, 5.16 with the errata); each is a few lines
onto the command interface (firmware/station.py), whose refusal codes become the answers.

- RemoteStartTransaction: connectorId 0 or unknown -> Rejected (TC_027); none given -> the
  first Available port; a busy, faulted or unavailable port -> Rejected. The session's
  budget is the one a DataTransfer set for that connector or idTag (datatransfer.py), else
  "until full". With AuthorizeRemoteTxRequests the idTag is authorized first (Accepted
  means "will try", errata 3.32). Its chargingProfile (a TxProfile, no transactionId) is
  installed for the new session (smart.py; errata 3.41); another purpose -> Rejected.
- RemoteStopTransaction: the port running that transactionId stops (Remote), else Rejected.
- Reset: Accepted, then soft: sessions stop (SoftReset), their StopTransactions get up to
  `_DRAIN_MS` to leave, the pile restarts; hard: the pile restarts now and the sessions'
  StopTransactions (HardReset) go after the reboot (errata 3.36). A reset is on purpose:
  never counted against a trial boot.
- ChangeAvailability: Accepted, or Scheduled while a session runs; persisted by the pile.
- UnlockConnector: these sockets have no lock: NotSupported (errata 3.87), unknown
  connectors too; a running session on it is stopped first (UnlockCommand), as the spec
  says a transaction ends before an unlock.
"""
import asyncio
import time

from micropython import const

import log

_log = log.get("ocpp")
_DRAIN_MS = const(10000)


def _port_ok(cp, c):
    return type(c) is int and 1 <= c <= cp.station.ports()


def remote_start(cp, p):
    st = cp.station
    tag = p["idTag"]
    c = p.get("connectorId")
    if c is None:
        for n in range(1, st.ports() + 1):
            if st.port(n)["status"] == "Available":
                c = n
                break
    if not _port_ok(cp, c):
        return {"status": "Rejected"}
    info = st.port(c)
    if info.get("id") is not None or info["status"] in ("Faulted", "Unavailable"):
        return {"status": "Rejected"}
    prof = None
    cs = p.get("chargingProfile")
    if cs is not None:
        if cs["chargingProfilePurpose"] != "TxProfile" or cs.get("transactionId") is not None:
            return {"status": "Rejected"}
        from firmware.proto.ocpp import smart

        now = st.bus.now()
        if now is None:
            return {"status": "Rejected"}
        prof = smart.parse(cp, c, cs, now)  # CallError for a bad profile, before anything starts
        if not smart.fits(prof):
            return {"status": "Rejected"}
    from firmware.proto.ocpp import datatransfer

    kind, amount, ref = datatransfer.budget_for(cp, c, tag)
    if cp.o["authorize_remote"]:
        async def later():
            status, _ = await cp.auth.authorize(tag)
            if status != "Accepted":
                _log.warn("remote start on %d: idTag %s", c, status)
                return
            _start(cp, c, kind, amount, tag, ref, prof)
        return {"status": "Accepted"}, later
    if not _start(cp, c, kind, amount, tag, ref, prof):
        return {"status": "Rejected"}
    return {"status": "Accepted"}


def _start(cp, c, kind, amount, tag, ref, prof=None):
    from firmware.station import Refused

    try:
        sid = cp.station.start(c, kind, amount, tag, "remote", None, ref)
    except Refused as e:
        _log.warn("remote start on %d refused: %s", c, e.args[0])
        return False
    _log.info("remote start on %d: session %d (%s %d)", c, sid, kind, amount)
    if prof is not None:
        cp.smart.install(prof)
    return True


def remote_stop(cp, p):
    from firmware.station import Refused

    port = cp.tx.port_of(p["transactionId"])
    if port is None:
        return {"status": "Rejected"}
    try:
        cp.station.stop(port, "Remote", "remote")
    except Refused:
        return {"status": "Rejected"}
    return {"status": "Accepted"}


def reset(cp, p):
    hard = p["type"] == "Hard"

    async def later():
        st = cp.station
        cp.security("ResetOrReboot", "%s reset by the CSMS" % p["type"])  # part 2: queued first
        if hard:
            _log.warn("hard reset by the CSMS")
            await asyncio.sleep_ms(200)  # the Reset.conf on its way out
            st.reset(True, "ocpp_hard_reset")
            return
        _log.warn("soft reset by the CSMS: stopping sessions")
        st.stop_all("SoftReset", "reset")
        t0 = time.ticks_ms()
        # their bills reach the queue through the bus (the events task), then go out
        while ((cp.sub.pending() or cp.txq.head() is not None) and cp.accepted.is_set()
               and time.ticks_diff(time.ticks_ms(), t0) < _DRAIN_MS):
            await asyncio.sleep_ms(50)
        st.reset(False, "ocpp_soft_reset")

    return {"status": "Accepted"}, later


def change_availability(cp, p):
    from firmware.station import Refused

    c = p["connectorId"]
    if c != 0 and not _port_ok(cp, c):
        return {"status": "Rejected"}
    try:
        r = {"status": cp.station.set_available(c, p["type"] == "Operative")}
        cp.fw.operator(c)  # an install's wait no longer reopens or closes it
        return r
    except Refused:
        return {"status": "Rejected"}


def unlock(cp, p):
    from firmware.station import Refused

    c = p["connectorId"]
    if _port_ok(cp, c) and cp.station.port(c).get("id") is not None:
        try:
            cp.station.stop(c, "UnlockCommand", "unlock")
        except Refused:
            pass
    return {"status": "NotSupported"}
