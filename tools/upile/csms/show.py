"""One readable line per OCPP message a pile sent (the demo and `upile csms` print them)."""
import json
import threading
import time


def _mv(p):
    out = []
    for mv in p.get("meterValue", []):
        for sv in mv.get("sampledValue", []):
            m = sv.get("measurand", "Energy.Active.Import.Register")
            short = {"Energy.Active.Import.Register": "", "Power.Active.Import": "", "Voltage": "",
                     "Current.Import": "", "Power.Factor": "pf ", "Temperature": ""}.get(m, m + " ")
            out.append("%s%s %s" % (short, sv["value"], sv.get("unit", "")))
    return ", ".join(x.strip() for x in out)


def line(cid, action, p, answer=None):
    """A short description of a CALL `action` with payload p (and its answer)."""
    a = answer or {}
    if action == "BootNotification":
        s = "%s booted: %s %s, firmware %s" % (cid, p.get("chargePointVendor"), p.get("chargePointModel"),
                                              p.get("firmwareVersion"))
        if p.get("iccid"):
            s += ", ICCID %s" % p["iccid"]
        return s + (" -> %s" % a.get("status") if a else "")
    if action == "StatusNotification":
        s = "%s connector %s: %s" % (cid, p.get("connectorId"), p.get("status"))
        if p.get("errorCode", "NoError") != "NoError":
            s += " (%s)" % p["errorCode"]
        if p.get("info") and p.get("status") in ("SuspendedEVSE", "SuspendedEV", "Faulted", "Unavailable"):
            s += " (%s)" % p["info"]  # why the pile switched it off
        return s
    if action == "StartTransaction":
        return "%s connector %s: transaction %s started, idTag %s, meter %s Wh" % (
            cid, p.get("connectorId"), a.get("transactionId", "?"), p.get("idTag"), p.get("meterStart"))
    if action == "StopTransaction":
        return "%s transaction %s stopped: %s, meter %s Wh" % (cid, p.get("transactionId"), p.get("reason", "Local"),
                                                             p.get("meterStop"))
    if action == "MeterValues":
        return "%s transaction %s meter values: %s" % (cid, p.get("transactionId", "-"), _mv(p))
    if action == "Authorize":
        return "%s authorize %s -> %s" % (cid, p.get("idTag"), a.get("idTagInfo", {}).get("status", "?"))
    if action == "Heartbeat":
        return None
    if action in ("SignedFirmwareStatusNotification", "LogStatusNotification"):
        return "%s %s %s: %s" % (cid, "firmware request" if action[0] == "S" else "log request",
                                 p.get("requestId", "-"), p.get("status"))
    if action == "SecurityEventNotification":
        return "%s security event %s%s" % (cid, p.get("type"), ": " + p["techInfo"] if p.get("techInfo") else "")
    return "%s %s %s" % (cid, action, json.dumps(p)[:80])


class Follower:
    """Turns a pile's frame log into lines, once each (call poll() repeatedly)."""

    def __init__(self, csms):
        self.csms = csms
        self.seen = {}
        self.pending = {}  # (cid, mid) -> (action, payload) awaiting our answer

    def poll(self):
        out = []
        for cid, p in list(self.csms.piles.items()):
            log = p.log
            i = self.seen.get(cid, 0)
            for _, d, text in log[i:]:
                try:
                    m = json.loads(text)
                except ValueError:
                    continue
                if d == "in" and isinstance(m, list) and len(m) == 4 and m[0] == 2:
                    self.pending[(cid, m[1])] = (m[2], m[3])
                elif d == "out" and isinstance(m, list) and m[0] == 3 and (cid, m[1]) in self.pending:
                    action, payload = self.pending.pop((cid, m[1]))
                    s = line(cid, action, payload, m[2])
                    if s:
                        out.append(s)
            self.seen[cid] = len(log)
        return out


def follow(csms, say, stop, prefix="  CSMS: "):
    """say() each new line as it comes, from a thread of its own, until the Event `stop` is set.
    Returns flush(timeout): the lines of every CALL in so far said now, once the CSMS answered
    them (within timeout), so what a caller says next comes after them."""
    f = Follower(csms)
    lock = threading.Lock()

    def poll():
        with lock:
            for text in f.poll():
                say(prefix + text)
            return not f.pending

    def flush(timeout=2.0):
        end = time.monotonic() + timeout
        while not poll() and time.monotonic() < end:
            time.sleep(0.01)

    def run():
        while not stop.is_set():
            poll()
            time.sleep(0.1)

    threading.Thread(target=run, daemon=True).start()
    return flush
