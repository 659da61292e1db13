"""Charging through DNY: start/stop 0x82, change a running session 0x8A, power reports 0x06,
card swipes 0x02. Budgets and units (docs/dny.md):
- 0x82 rate mode 0 (time) with a value: a time budget, seconds rounded up to our whole
  minutes; mode 2 (energy): 0.01 kWh = 10 Wh; a value of 0, mode 1 (monthly) or 3 (count):
  until full. The balance field is for the voice prompt only ([V]): logged, not a budget.
- the order number (16 opaque bytes) is the session's ref, as 32 hex digits: the pile
  journals it with the session and it comes back in the bill, the 0x06 reports and 0x03.
- ports are 0-based on the wire, 1-based at the station; 0xFF = the pile picks: the only
  free port, or answer 5 with the free ports' bits when several are (no plug sensing).
"""
import time
from binascii import hexlify, unhexlify

import log
from firmware.proto.dny import frame
from firmware.station import Refused

_log = log.get("dny")
# station refusal -> 0x82 result (1 nothing plugged, 2 already so, 3 port fault, 4 no port,
# 6 pile power exceeded, 0x0E not executed)
_REFUSED = {"no_such_port": 4, "port_busy": 2, "port_faulted": 3, "unavailable": 3, "reserved": 3,
            "over_temperature": 3, "total_power_exceeded": 6, "no_session": 2}
START_MIN = 25  # rate, balance, port, command, value, order: what a start or stop needs


def order_ref(order):
    return hexlify(order).decode()


def ref_order(ref):
    """A session's ref as 16 order bytes, or None when it is not a DNY order."""
    if not isinstance(ref, str) or len(ref) != 32:
        return None
    try:
        return unhexlify(ref)
    except ValueError:
        return None


def budget(mode, value):
    """(kind, amount) for station.start from 0x82's rate mode and value."""
    if not value or mode not in (0, 2):
        return "full", 0
    if mode == 0:
        return "time", (value + 59) // 60
    return "energy", value * 10


class _Run:
    """A port's session as DNY reports it (from the bus)."""
    __slots__ = ("sid", "order", "method", "due", "wmax", "wmin", "wsum", "n", "peak")

    def __init__(self, d, due):
        self.sid = d["id"]
        self.order = ref_order(d.get("ref"))
        self.method = d.get("method")
        self.due = due  # ticks of the next 0x06
        self.peak = 0
        self.reset()

    def reset(self):
        self.wmax = self.wsum = self.n = 0
        self.wmin = None


class Charge:
    def __init__(self, cli):
        self.cli = cli
        self.runs = [None] * cli.n
        self.reports = 0

    # ---- the bus
    def started(self, d):
        i = d["port"] - 1
        if 0 <= i < len(self.runs):
            self.runs[i] = _Run(d, time.ticks_add(time.ticks_ms(), self.cli.c["report_s"] * 1000))

    def sample(self, d):
        i = d["port"] - 1
        r = self.runs[i] if 0 <= i < len(self.runs) else None
        if r is None or r.sid != d["id"]:
            return
        w = d.get("w") or 0
        r.wmax = max(r.wmax, w)
        r.wmin = w if r.wmin is None else min(r.wmin, w)
        r.wsum += w
        r.n += 1
        r.peak = max(r.peak, w)

    def stopped(self, d):
        i = d["port"] - 1
        if 0 <= i < len(self.runs):
            self.runs[i] = None

    def peak(self, i):
        r = self.runs[i]
        return r.peak * 10 if r else 0

    # ---- 0x06 every report_s while a port charges (no answer, no resend)
    def due(self, now):
        """Ports whose report is due (their timers move on)."""
        out = []
        step = self.cli.c["report_s"] * 1000
        for i, r in enumerate(self.runs):
            if r is not None and time.ticks_diff(now, r.due) >= 0:
                r.due = time.ticks_add(now, step)
                out.append(i)
        return out

    def report(self, i):
        """0x06 for port i (0-based), or None when it no longer charges."""
        r = self.runs[i]
        st = self.cli.st
        try:
            p = st.port(i + 1)
        except Refused:
            return None
        if r is None or p.get("id") != r.sid:
            return None
        now_w = max(0, p.get("p_w") or 0)
        wmin = r.wmin if r.wmin is not None else now_w
        avg = r.wsum // r.n if r.n else now_w
        d = bytearray(47)
        d[0] = i
        d[1] = 5 if p["status"] == "SuspendedEV" else 1
        frame.put16(d, 2, min(p.get("charged_s") or 0, 0xFFFF))
        frame.put16(d, 4, min((p.get("mwh") or 0) // 10000, 0xFFFF))
        d[6] = 1 if r.order else 0
        for k, w in enumerate((now_w, max(r.wmax, now_w), wmin, avg)):
            frame.put16(d, 7 + 2 * k, min(w * 10, 0xFFFF))
        if r.order:
            d[15:31] = r.order
        frame.put16(d, 33, min(max(r.peak, now_w) * 10, 0xFFFF))
        frame.put16(d, 35, p.get("v_dv") or 0)
        frame.put16(d, 37, min(p.get("i_ma") or 0, 0xFFFF))
        from firmware.proto.dny.status import temp_byte

        d[39] = temp_byte(st.status().get("temp_dc"))
        now = st.bus.now()
        if now:
            frame.put32(d, 41, now)
        r.reset()
        self.reports += 1
        return bytes(d)

    # ---- 0x82 start / stop
    def _free(self):
        """1-based ports a start could take now."""
        st = self.cli.st
        return [i for i in range(1, self.cli.n + 1) if st.port(i)["status"] == "Available"]

    def start_stop(self, data):
        """0x82 -> answer: result u8, order 16, port u8, waiting bits u16."""
        order = frame.raw(data, 9, 16)
        port = frame.u8(data, 5)
        out = bytearray(20)
        if order is None:
            out[0] = 0x0E  # not executed: a start or stop without its order number
            return bytes(out)
        out[1:17] = order
        mode, balance, cmd, value = data[0], frame.u32(data, 1), data[6], frame.u16(data, 7)
        ref = order_ref(order)
        st = self.cli.st
        if cmd > 1:
            out[0] = 0x0E  # neither start (1) nor stop (0): not executed
            out[17] = port
            return bytes(out)
        try:
            if cmd == 0:
                port = self._stop(port, ref)
            else:
                if port == 0xFF:
                    free = self._free()
                    if len(free) != 1:
                        out[0] = 5 if free else 1
                        bits = 0
                        for p in free:
                            bits |= 1 << (p - 1)
                        frame.put16(out, 18, bits)
                        out[17] = port
                        return bytes(out)
                    port = free[0] - 1
                busy = self._running(port + 1)
                if busy is not None and (busy == ref or busy == "" and st.port(port + 1).get("method") == "card"):
                    # this order already runs there (a repeated start), or the front started the
                    # card's session on our accepted 0x02 (docs/dny.md "Cards"): done
                    out[17] = port
                    return bytes(out)
                kind, amount = budget(mode, value)
                sid = st.start(port + 1, kind, amount, None, "remote", None, ref)
                _log.info("order %s: port %d started %s %d (rate mode %d, balance %s), session %d", ref, port + 1,
                          kind, amount, mode, balance, sid)
        except Refused as e:
            out[0] = _REFUSED.get(e.code, 0x0E)
            _log.info("order %s: port %s refused %s", ref, port, e.code)
        out[17] = port if port is not None else 0xFF
        return bytes(out)

    def _running(self, port):
        """The ref of the session on a 1-based port, or None."""
        try:
            info = self.cli.st.port(port)
        except Refused:
            return None
        if info.get("id") is None:
            return None
        r = self.runs[port - 1] if port - 1 < len(self.runs) else None
        return order_ref(r.order) if r is not None and r.order else ""

    def _stop(self, port, ref):
        """Stop the session of order `ref` (on `port`, or wherever it runs for 0xFF)."""
        if port == 0xFF:
            for i, r in enumerate(self.runs):
                if r is not None and r.order and order_ref(r.order) == ref:
                    port = i
                    break
        if port is None or port >= self.cli.n:
            raise Refused("no_such_port", "")
        if self._running(port + 1) != ref:  # idle, or another order: nothing stopped
            raise Refused("no_session", "")
        bill = self.cli.st.stop(port + 1, "Remote", "remote")
        _log.info("order %s: port %d stopped by the server, %d mWh", ref, port + 1, bill["energy_mwh"])
        return port

    # ---- 0x8A a running session's new budget
    def change(self, data):
        mode, port, value = frame.u8(data, 0), frame.u8(data, 1), frame.u16(data, 2)
        if value is None or mode not in (0, 1, 2) or port >= self.cli.n or not value:
            return b"\x03"  # no such mode or port
        kind, amount = ("energy", value * 10) if mode == 2 else ("time", (value + 59) // 60)
        try:
            r = self.cli.st.change_budget(port + 1, kind, amount)
        except Refused as e:
            return b"\x01" if e.code == "no_session" else b"\x03"
        _log.info("port %d: budget now %s %d (%s)", port + 1, kind, amount, r)
        return b"\x00" if r == "ok" else b"\x02"

    # ---- 0x02 card taps at the pile's front (card.ask)
    @staticmethod
    def card(d):
        """0x02: uid 4 (card order), type u8, port u8 (0xFF balance query), balance u16,
        time u32, card2 len u8, card2. A uid longer than 4 bytes goes as card2 (type 4)."""
        uid = unhexlify(d["id_tag"])
        long = len(uid) > 4
        out = bytearray(13 + (len(uid) if long else 0))
        if not long:
            out[0:len(uid)] = uid
        out[4] = 4 if long else d.get("card_type", 0)
        port = d.get("port")
        out[5] = 0xFF if port is None else port - 1
        frame.put16(out, 6, min(d.get("balance_fen") or 0, 0xFFFF))
        if d.get("unix"):
            frame.put32(out, 8, d["unix"])
        if long:
            out[12] = len(uid)
            out[13:] = uid
        return bytes(out)


# 0x02 answer's account status -> the reason given to the front (accepted: none)
CARD_STATUS = {0: "accepted", 1: "unknown", 6: "low_balance", 7: "expired", 0x0E: "low_balance"}
