"""`make sim` scene: what an operator does to a pile from its CSMS with OCPP parts 2 and 3.

A factory pile of its own (upile.sim.fwpile: release 1.0.0 in slot a, the manufacturer root
installed, release 2.0.0 signed for OCPP on a loopback release server) against the bench
CSMS (tools/upile/csms), whose view is printed as it comes: a reservation of port 2 used by
its idTag through a remote start; a ChargePointMaxProfile that suspends the newer of two
sessions until it is cleared; the diagnostics log uploaded by HTTP PUT (GetLog); a signed
firmware update 1.0.0 -> 2.0.0, and a request signed under another root refused. Raises
TimeoutError when a step does not happen (docs/ocpp.md parts 2 and 3).
"""
import datetime
import tempfile
import threading
import time
from pathlib import Path

from upile import fwsign
from upile.csms import Csms
from upile.csms.show import follow
from upile.csms.sink import Server
from upile.sim.demo_ocpp import wait
from upile.sim.fwpile import FwPile

CP = "PILE-OPS"
BIKE_W = 300  # each bike's charger draws this (the meters' emulator)
CAP_W = 400  # the operator's cap: room for one bike


def _iso(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(pile, port):
    s = pile.p.status.get(port)
    return s[0] if s else None


def _started(c, since, port):
    """(transactionId, StartTransaction payload) of the first start on `port` after `since`."""
    for mid, st in c.calls(CP, "StartTransaction", since):
        if st["connectorId"] == port:
            got = [t for t, v in list(c.pile(CP).tx.items()) if v["start_id"] == mid]
            return (got[0], st) if got else None
    return None


def _reserve_and_start(c, pile, say):
    m = c.mark(CP)
    t0 = time.monotonic()
    r = c.call(CP, "ReserveNow", {"connectorId": 2, "expiryDate": _iso(time.time() + 600), "idTag": "fleet-42",
                                  "reservationId": 7})["status"]
    wait(lambda: _status(pile, 2) == "Reserved", 10, "port 2 Reserved")
    dt = time.monotonic() - t0
    pile.meter.command("plug 2 %d 5000 0.2" % BIKE_W)
    s = c.start(CP, 2, "fleet-42")
    txid, st = wait(lambda: _started(c, m, 2), 30, "the reserved port's StartTransaction")
    wait(lambda: _status(pile, 2) == "Charging", 30, "port 2 Charging")
    say("ops 1: ReserveNow port 2 for fleet-42 (10 min) -> %s, the CSMS saw Reserved %.2f s later; "
        "RemoteStart fleet-42 on port 2 -> %s: transaction %d with reservationId %s, Charging"
        % (r, dt, s, txid, st.get("reservationId")))
    return txid


def _cap(c, pile, say, tx2):
    m = c.mark(CP)
    pile.meter.command("plug 1 %d 5000 0.2" % BIKE_W)
    c.start(CP, 1, "walk-in")
    tx1, _ = wait(lambda: _started(c, m, 1), 30, "port 1's StartTransaction")
    wait(lambda: _status(pile, 1) == "Charging", 30, "port 1 Charging")
    prof = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "ChargePointMaxProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {"startSchedule": _iso(time.time() - 5), "chargingRateUnit": "W",
                                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": CAP_W}]}}
    t0 = time.monotonic()
    r = c.call(CP, "SetChargingProfile", {"connectorId": 0, "csChargingProfiles": prof})["status"]
    wait(lambda: _status(pile, 1) == "SuspendedEVSE", 30, "port 1 SuspendedEVSE")
    shed = time.monotonic() - t0
    t1 = time.monotonic()
    cleared = c.call(CP, "ClearChargingProfile", {})["status"]
    wait(lambda: _status(pile, 1) == "Charging", 60, "port 1 Charging again")
    back = time.monotonic() - t1
    stops = len(c.calls(CP, "StopTransaction", m))
    say("ops 2: two bikes of %d W charging; SetChargingProfile ChargePointMaxProfile %d W -> %s: the newer session "
        "(port 1, transaction %d) SuspendedEVSE after %.2f s, port 2 kept %s; ClearChargingProfile -> %s: port 1 "
        "Charging again %.1f s later, the same transaction (%d StopTransaction)"
        % (BIKE_W, CAP_W, r, tx1, shed, _status(pile, 2), cleared, back, stops))
    for port, txid in ((1, tx1), (2, tx2)):
        c.stop(CP, txid)
        pile.meter.command("unplug %d" % port)
    wait(lambda: _status(pile, 1) == _status(pile, 2) == "Available", 30, "both ports Available")


def _log(c, pile, say):
    sink = Server()
    try:
        t0 = time.monotonic()
        r = c.call(CP, "GetLog", {"logType": "DiagnosticsLog", "requestId": 1, "log": {"remoteLocation": sink.url}})
        wait(lambda: any(x.get("requestId") == 1 and x["status"] in ("Uploaded", "UploadFailure")
                         for x in pile.p.log_statuses), 30, "the log's final status")
        dt = time.monotonic() - t0
        got = [x["status"] for x in pile.p.log_statuses if x.get("requestId") == 1]
        path, body = sink.srv.got[-1] if sink.srv.got else ("nothing", b"")
        say("ops 3: GetLog DiagnosticsLog -> %s (%s); %s in %.2f s: the loopback server got a PUT of %s, "
            "%d bytes, %d lines" % (r["status"], r.get("filename"), " -> ".join(got), dt, path, len(body),
                                    body.count(b"\n")))
        if got[-1] != "Uploaded":
            raise TimeoutError("ocpp scene: the log was not uploaded (%s)" % got)
    finally:
        sink.close()


def _firmware(c, pile, say, tmp):
    t0 = time.monotonic()
    r = c.call(CP, "SignedUpdateFirmware", pile.request(2))["status"]
    final = ("Installed", "InstallVerificationFailed", "InvalidSignature", "DownloadFailed", "InstallationFailed")
    wait(lambda: set(final) & set(pile.statuses(2)), 120, "the update's final status")
    wait(lambda: pile.events("FirmwareUpdated") or "Installed" not in pile.statuses(2), 30, "FirmwareUpdated")
    dt = time.monotonic() - t0
    say("ops 4: SignedUpdateFirmware 2.0.0 (signed by `upile release --ocpp-signing`) -> %s; %s in %.1f s; "
        "the pile rebooted: BootNotification %d says firmware %s; security event %s"
        % (r, " -> ".join(pile.statuses(2)), dt, pile.p.boots, pile.p.boot["firmwareVersion"],
           ", ".join(e["type"] for e in pile.events("FirmwareUpdated")) or "none"))
    if pile.statuses(2)[-1] != "Installed" or pile.p.boot["firmwareVersion"] != "2.0.0":
        raise TimeoutError("ocpp scene: 2.0.0 was not installed (%s)" % pile.statuses(2))
    other = fwsign.keygen(tmp / "other-maker", "ec", org="Another Maker")
    req = pile.request(3)
    req["firmware"]["signingCertificate"] = (other / fwsign.SIGN_PEM).read_text()
    r = c.call(CP, "SignedUpdateFirmware", req)["status"]
    ev = wait(lambda: pile.events("InvalidFirmwareSigningCertificate"), 30, "InvalidFirmwareSigningCertificate")
    say("ops 4: a request whose signing certificate another maker's root issued -> %s; security event %s (%s); "
        "%s still runs" % (r, ev[0]["type"], ev[0].get("techInfo", ""), pile.p.boot["firmwareVersion"]))


def run(board, say):
    """The scene on a pile of its own (`board`, the OTA story's, is not touched)."""
    stop = threading.Event()
    with Csms() as c, tempfile.TemporaryDirectory(prefix="upile-demo-ops-") as tmp:
        tmp = Path(tmp)
        pile = FwPile(tmp, c, cid=CP, ota={"health_s": 5}, heap="2M")
        try:
            flush = follow(c, say, stop)

            def tell(msg):  # a step's line after the CSMS's lines of that step
                flush()
                say(msg)

            tell("ops: a factory pile (1.0.0, the manufacturer root installed) points at the bench CSMS %s" % c.url)
            pile.b.power_on()
            wait(lambda: pile.p.connected and pile.p.boots and len(pile.p.status) >= 3, 60, "the boot and statuses")
            tx2 = _reserve_and_start(c, pile, tell)
            _cap(c, pile, tell, tx2)
            _log(c, pile, tell)
            _firmware(c, pile, tell, tmp)
            return 0
        finally:
            stop.set()
            pile.close()
