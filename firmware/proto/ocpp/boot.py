"""BootNotification and Heartbeat (OCPP 1.6 sections 4.2, 4.6; errata 3.11, 3.22, 3.35).

- First thing on a connection after a reboot, or after a reconnect when its fields changed
  (firmwareVersion = the version that runs, ICCID/IMSI once the modem read them); a plain
  reconnect sends none (OCPP-J 5.4).
- Accepted: the interval becomes the heartbeat, currentTime sets the clock when NTP or the
  modem did not, StatusNotification of connector 0 and every port follow, the trial-boot
  health rule hears the back end was reached. Nothing else is sent before it.
- Pending: the CSMS's CALLs are answered, none of ours is sent; again after `interval`
  (30 s when 0).
- Rejected: the CSMS's CALLs go unanswered, nothing is sent until `interval` expired.
"""
import asyncio
import time

from micropython import const

import log
from firmware.proto.ocpp import dt, rpc

_log = log.get("ocpp")
_RETRY_MS = const(30000)  # a boot that timed out or got a CALLERROR is sent again after this


def fields(cp):
    st = cp.station
    o = cp.o
    ident = st.identity()
    d = {"chargePointVendor": o["vendor"], "chargePointModel": (o["model"] or cp.cfg["pile"]["product"])[:20],
         "chargePointSerialNumber": (o["serial"] or cp.id)[:25], "firmwareVersion": str(st.version)[:50]}
    if ident.get("iccid"):
        d["iccid"] = str(ident["iccid"])[:20]
    if ident.get("imsi"):
        d["imsi"] = str(ident["imsi"])[:20]
    return d


class Boot:
    def __init__(self, cp):
        self.cp = cp
        self.sent = None  # the fields of the last accepted boot (a reconnect compares)
        self.state = None  # None (not yet this boot), Pending, Rejected, Accepted
        self.interval_s = cp.o["heartbeat_s"]
        self.accepted_at = None
        self.kick = asyncio.Event()  # TriggerMessage(BootNotification) while Pending: boot now

    def needed(self):
        return self.state != "Accepted" or self.sent != fields(self.cp)

    async def run(self, closed):
        """Boot on this connection when needed; returns True once accepted, False when the
        connection ended first (`closed`: an Event set when it does)."""
        cp = self.cp
        if not self.needed():
            return True
        f = fields(cp)
        while not closed.is_set():
            try:
                r = await cp.rpc.call("BootNotification", f, cp.ids.next())
            except rpc.Offline:
                return False
            except (rpc.CallError, rpc.BadAnswer, rpc.Timeout) as e:
                _log.warn("BootNotification failed: %r", e)
                if not await _wait(closed, _RETRY_MS):
                    return False
                continue
            st = r["status"]
            self.state = st
            cp.rpc.answering = st != "Rejected"
            if st == "Accepted":
                self.sent = f
                if r["interval"] > 0:
                    self.interval_s = r["interval"]
                self.clock(r["currentTime"])
                self.accepted_at = time.ticks_ms()
                _log.info("BootNotification accepted (%s, heartbeat %d s)", f["firmwareVersion"], self.interval_s)
                cp.station.backend_reached()
                cp.status.all_dirty()
                return True
            wait = (r["interval"] if r["interval"] > 0 else _RETRY_MS // 1000) * 1000
            _log.warn("BootNotification %s: again in %d s", st, wait // 1000)
            self.kick.clear()
            if not await _wait(closed, wait, self.kick if st == "Pending" else None):
                return False
        return False

    def clock(self, text):
        """currentTime of a boot or heartbeat answer sets the clock when nothing better did."""
        try:
            t = dt.unix(text)
        except (ValueError, IndexError):
            return
        old = self.cp.station.bus.now()
        if self.cp.station.set_time("csms", t):
            _log.info("clock set from the CSMS: %s", text)
            if old is not None and abs(t - old) > 60:  # part 2: a clock that was known moved
                self.cp.security("SettingSystemTime", "set by the CSMS, moved %d s" % (t - old))

    async def heartbeat(self):
        r = await self.cp.rpc.call("Heartbeat", {}, self.cp.ids.next())
        self.clock(r["currentTime"])


async def _wait(closed, ms, kick=None):
    """Sleep ms unless the connection ends first (or `kick` is set: a triggered boot); True
    when it is still up."""
    if kick is None:
        try:
            await asyncio.wait_for_ms(closed.wait(), ms)
        except asyncio.TimeoutError:
            return True
        return False
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < ms and not kick.is_set():
        if closed.is_set():
            return False
        await asyncio.sleep_ms(50)
    return not closed.is_set()
