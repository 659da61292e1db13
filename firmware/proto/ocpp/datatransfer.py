"""DataTransfer from the CSMS (OCPP 1.6 5.6): the e-bike messages of vendorId "com.upile"
(docs/ocpp.md "E-bike budgets over DataTransfer"); any other vendor is UnknownVendorId.

`data` is a JSON text (the 1.6 schema makes it a string). Message ids:
- "Budget" {"connectorId": 3, "idTag": "app-1001", "kind": "money", "amount": 100,
  "ref": "order-77"}: the budget of the next RemoteStartTransaction for that connector
  (or, without connectorId, that idTag) within ocpp.budget_ttl_s. kind: time (minutes),
  energy (Wh), money (fen, the pile's tariff), full (amount 0). ref (optional, <= 40
  characters) comes back in the bill.
- "StartWithBudget": the same fields (connectorId required), and the session starts now:
  one message instead of two, answered like a RemoteStart (Accepted/Rejected, with the
  reason in data).
- "PendingBills" {"limit": 5}: the bills the pile still holds (a Stop the queue discarded,
  or not yet delivered), oldest first, so a CSMS can reconcile.
- "AckBill" {"id": 17}: the CSMS has bill 17; the pile forgets it.
Bad JSON or fields: Rejected with {"error": "..."} in data.
"""
import json
import time

from micropython import const

import log

_log = log.get("ocpp")
VENDOR = "com.upile"
KINDS = ("time", "energy", "money", "full")
_BILL_KEYS = ("id", "port", "id_tag", "kind", "amount", "reason", "energy_mwh", "meter_start", "meter_stop",
              "start_time", "stop_time", "fen", "refund", "ref")
_MAX_BILLS = const(10)


def _reject(why):
    return {"status": "Rejected", "data": json.dumps({"error": why})}


def _budget(d, need_port):
    """(connector or None, idTag, kind, amount, ref) from a Budget message, or an error text."""
    c = d.get("connectorId")
    tag = d.get("idTag")
    kind = d.get("kind", "full")
    amount = d.get("amount", 0)
    ref = d.get("ref")
    if c is not None and type(c) is not int:
        return "connectorId: expected an integer"
    if need_port and c is None:
        return "connectorId: missing"
    if c is None and not isinstance(tag, str):
        return "connectorId or idTag: one is needed"
    if tag is not None and (not isinstance(tag, str) or not 1 <= len(tag) <= 20):
        return "idTag: expected 1-20 characters"
    if kind not in KINDS:
        return "kind: expected one of " + ", ".join(KINDS)
    if type(amount) is not int or amount < 0 or (kind != "full" and amount == 0):
        return "amount: expected a positive integer (0 only for full)"
    if ref is not None and (not isinstance(ref, str) or len(ref) > 40):
        return "ref: expected at most 40 characters"
    return c, tag, kind, amount, ref


def budget_for(cp, c, tag):
    """(kind, amount, ref) of the RemoteStart on connector c with idTag tag: a matching
    Budget within budget_ttl_s (used once), else until full. Budgets live in cp.budgets
    (this module is imported for a CALL and dropped after it)."""
    now = time.ticks_ms()
    ttl = cp.o["budget_ttl_s"] * 1000
    cp.budgets = [b for b in cp.budgets if time.ticks_diff(now, b[5]) < ttl]
    for b in cp.budgets:
        if (b[0] == c or b[0] is None) and (b[1] is None or b[1] == tag):
            cp.budgets.remove(b)
            return b[2], b[3], b[4]
    return "full", 0, None


def handle(cp, p):
    if p["vendorId"] != VENDOR:
        return {"status": "UnknownVendorId"}
    mid = p.get("messageId")
    try:
        d = json.loads(p.get("data") or "{}")
    except ValueError:
        return _reject("data: not JSON")
    if not isinstance(d, dict):
        return _reject("data: expected a JSON object")
    if mid == "Budget" or mid == "StartWithBudget":
        b = _budget(d, mid == "StartWithBudget")
        if isinstance(b, str):
            return _reject(b)
        if mid == "Budget":
            cp.budgets.append([b[0], b[1], b[2], b[3], b[4], time.ticks_ms()])
            while len(cp.budgets) > 16:
                cp.budgets.pop(0)
            _log.info("budget for %s: %s %d", b[0] if b[0] is not None else b[1], b[2], b[3])
            return {"status": "Accepted"}
        return _start(cp, b)
    if mid == "PendingBills":
        return _bills(cp, d)
    if mid == "AckBill":
        sid = d.get("id")
        if type(sid) is not int:
            return _reject("id: expected an integer")
        try:
            ok = cp.station.ack_bill(sid)
        except Exception as e:  # noqa: BLE001  no pile
            return _reject(repr(e))
        cp.txq.discarded.discard(sid)
        return {"status": "Accepted" if ok else "Rejected"}
    return {"status": "UnknownMessageId"}


def _start(cp, b):
    from firmware.station import Refused

    c, tag, kind, amount, ref = b
    try:
        sid = cp.station.start(c, kind, amount, tag or cp.o["local_tag"], "remote", None, ref)
    except Refused as e:
        return _reject(e.args[0])
    return {"status": "Accepted", "data": json.dumps({"session": sid})}


def _bills(cp, d):
    limit = d.get("limit", 5)
    if type(limit) is not int or not 1 <= limit <= _MAX_BILLS:
        return _reject("limit: expected 1-%d" % _MAX_BILLS)
    out = []
    for b in cp.station.pending_bills(limit):
        out.append({k: b.get(k) for k in _BILL_KEYS})
    return {"status": "Accepted", "data": json.dumps({"bills": out})}
