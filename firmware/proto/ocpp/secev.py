"""Security events (whitepaper section 8, A04): every event goes into the security log, a
bounded journal on flash kept across reboots and updates (/data/ocpp/seclog.jnl, outside the
app slots); the critical ones, InvalidFirmwareSignature / InvalidFirmwareSigningCertificate
(L01) and the refused certificates (InvalidCentralSystemCertificate, InvalidChargePointCertificate:
OCTT TC_077/TC_078 expect the notification; A04 only obliges the critical ones, it forbids no
others) are also sent as SecurityEventNotification through the guaranteed queue (outq.py).
Imported when an event happens, dropped after it."""
import journal
from micropython import const

SENT = ("FirmwareUpdated", "SettingSystemTime", "StartupOfTheDevice", "ResetOrReboot",
        "SecurityLogWasCleared", "MemoryExhaustion", "TamperDetectionActivated",
        "InvalidFirmwareSignature", "InvalidFirmwareSigningCertificate",
        "InvalidCentralSystemCertificate", "InvalidChargePointCertificate")
PATH = "/data/ocpp/seclog.jnl"
_KEEP = const(200)  # events kept; older ones go at compaction
_SLACK = const(50)


def record(cp, kind, tech="", path=PATH):
    """Log the event (with the time, when known) and queue it when it must be sent."""
    now = cp.station.bus.now()
    tech = tech[:255]
    j = journal.Journal(path, 512)
    j.append("%d %s %s" % (now or 0, kind, tech))
    if j.count > _KEEP + _SLACK:
        skip = [j.count - _KEEP]

        def keep(raw):
            if skip[0] > 0:
                skip[0] -= 1
                return False
            return True

        j.compact(keep)
    j.close()
    if kind in SENT:
        from firmware.proto.ocpp import dt

        p = {"type": kind, "timestamp": dt.iso(now) if now is not None else None}
        if tech:
            p["techInfo"] = tech
        cp.outq.add("SecurityEventNotification", p)


def lines(path=PATH):
    """The security log, oldest first: (unix or 0, type, techInfo) per event."""
    j = journal.Journal(path, 512)
    try:
        for raw in j.records():
            a = raw.find(b" ")
            b = raw.find(b" ", a + 1)
            yield int(raw[:a]), raw[a + 1:b].decode(), raw[b + 1:].decode()
    finally:
        j.close()


def door_alarms(cp):
    """The front's door (tamper) alarm changes not yet acknowledged: a door opened raises
    TamperDetectionActivated (queued, guaranteed); each change is acknowledged once its event
    is on flash, so an alarm the bus lost in a power cut is found here at the next start."""
    for a in cp.station.pending_alarms(20):
        if a.get("what") != "door":
            continue
        if a.get("on"):
            record(cp, "TamperDetectionActivated", "door opened (alarm %d)" % a["id"], cp.data + "/seclog.jnl")
        cp.station.ack_alarm(a["id"])
