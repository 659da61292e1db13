"""Settlement 0x03, exactly once: the pile's bill journal is the queue.

A bill is journalled (durably, by the charging domain) before the session's stop is even
published, and stays pending until station.ack_bill(id); this module keeps no copy of it.
The oldest pending bill goes as 0x03 `settle_delay_ms` (~2 s) after an output is cut, at
once after every (re)connect, and every `settle_retry_s` (30 min) while unanswered; after an
answer it is acked and the next one goes `settle_next_s` (1 min) later. The record is built
from the bill alone, so every resend (after a power cut too) carries the same order number
and the same figures: a server that sees an order twice (its answer was lost) sees it the
same. Layout (37 bytes): duration u16 s, max power u16 0.1 W, energy u16 0.01 kWh, port u8
(0-based), start u8 (0 offline, 1 online, 3 code), card u32, stop reason u8, order 16 B,
max power of the first 5 min u16 (not measured: 0), time u32, occupancy u16 (0).
"""
import time
from binascii import unhexlify

import log
from firmware.proto.dny import frame
from firmware.proto.dny.charge import ref_order

_log = log.get("dny")

# bill cause -> stop reason (1 full, 2 max time, 3 preset time, 4 preset energy, 5 unplugged,
# 6 overload, 7 server, 9 too low, 0x0A heat, 0x0C over-current, 0x0E no power, 0x0F relay,
# 0x15 external operation, 0x16 card, 0x1A over/under voltage)
_REASON = {"full": 1, "max_time": 2, "unplugged": 5, "over_power": 6, "remote": 7, "no_load": 9,
           "pile_over_temperature": 0x0A, "over_current": 0x0C, "meter_silent": 0x0E, "power_loss": 0x0E,
           "relay_welded": 0x0F, "relay_readback": 0x0F, "card": 0x16, "voltage": 0x1A}


def stop_reason(b):
    c = b.get("cause")
    if c == "budget":
        return 4 if b.get("kind") == "energy" else 3
    return _REASON.get(c, 0x15)


def _bcd(v):
    return (v // 10 % 10) << 4 | v % 10


def _civil(unix):
    """Unix seconds -> (year, month, day, h, m, s) UTC (no port epoch involved)."""
    days, rest = divmod(unix, 86400)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if m <= 2 else 0), m, d, rest // 3600, rest // 60 % 60, rest % 60


def offline_order(b, number, start):
    """An order number for a session the server did not order ([V]'s offline rule, loosely
    specified): start time as BCD (20 YY MM DD hh mm ss), card 4 bytes, the QR number as 4
    BCD bytes, port (1-based) + 30 (+70 for a code start) as BCD."""
    o = bytearray(16)
    t = b.get("start_time")
    if t:
        y, mo, d, h, mi, s = _civil(t)
        o[0:7] = bytes((_bcd(y // 100), _bcd(y), _bcd(mo), _bcd(d), _bcd(h), _bcd(mi), _bcd(s)))
    o[7:11] = _card(b)
    for k in range(4):
        o[11 + k] = _bcd(number // 10 ** (6 - 2 * k))
    o[15] = _bcd((b.get("port") or 0) + (70 if start == 3 else 30))
    return bytes(o)


def _card(b):
    if b.get("method") == "card":
        try:
            uid = unhexlify(b.get("id_tag") or "")
        except ValueError:
            uid = b""
        return (uid + b"\x00\x00\x00\x00")[:4]
    return b"\x00\x00\x00\x00"


def record(b, number):
    """The 0x03 data of a bill (the station's pending-bill dict)."""
    order = ref_order(b.get("ref"))
    m = b.get("method")
    start = 1 if (order and m == "remote") else (3 if m == "code" else 0)
    d = bytearray(37)
    frame.put16(d, 0, min(b.get("charged_s") or 0, 0xFFFF))
    frame.put16(d, 2, min((b.get("peak_w") or 0) * 10, 0xFFFF))
    frame.put16(d, 4, min((b.get("energy_mwh") or 0) // 10000, 0xFFFF))
    d[6] = (b.get("port") or 1) - 1
    d[7] = start
    if start != 1:
        d[8:12] = _card(b)
    d[12] = stop_reason(b)
    d[13:29] = order if order else offline_order(b, number, start)
    if b.get("stop_time"):
        frame.put32(d, 31, b["stop_time"])
    return bytes(d)


class Settle:
    def __init__(self, cli):
        self.cli = cli
        self.at = time.ticks_ms()  # the next 0x03 (None: nothing to send): at boot, the journal's
        self.busy = False
        self.sent = self.acked = 0

    def wake(self, ms):
        """Send within ms (never later than already planned)."""
        t = time.ticks_add(time.ticks_ms(), ms)
        if self.at is None or time.ticks_diff(self.at, t) > 0:
            self.at = t

    def due(self, now):
        return not self.busy and self.at is not None and time.ticks_diff(now, self.at) >= 0

    def _first(self):
        it = self.cli.st.each_pending_bill()
        try:
            for b in it:
                return b
        finally:
            it.close()
        return None

    async def send_one(self):
        """The oldest pending bill as 0x03; acked when the server answers 0."""
        self.busy = True
        c = self.cli.c
        try:
            b = self._first()
            if b is None:
                self.at = None
                return
            data = record(b, c["number"])
            order = data[13:29]
            self.sent += 1
            _log.info("settle id=%d order=%s port=%d mwh=%d fen=%d s=%d", b["id"], _hex(order), b.get("port") or 0,
                      b.get("energy_mwh") or 0, b.get("fen") or 0, b.get("charged_s") or 0)
            r = await self.cli.link.request(0x03, data)
            if r is None or (r and r[0] != 0):
                self.at = time.ticks_add(time.ticks_ms(), c["settle_retry_s"] * 1000)
                _log.info("settle id=%d %s: again in %d s", b["id"], "unanswered" if r is None else "refused %d" % r[0],
                          c["settle_retry_s"])
                return
            self.cli.st.ack_bill(b["id"])
            self.acked += 1
            _log.info("settled id=%d order=%s", b["id"], _hex(order))
            self.at = time.ticks_add(time.ticks_ms(), c["settle_next_s"] * 1000)
        finally:
            self.busy = False


def _hex(b):
    from binascii import hexlify

    return hexlify(b).decode()
