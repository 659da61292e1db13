"""Wi-Fi station link: configured networks tried in priority order, named failure reasons.

The board's WLAN adapter (firmware/board/radio.py Wlan, or a fake) maps the port's status
constants to names, so nothing here depends on `network`. connect() on the ESP32 returns at
once; we poll the status without blocking the loop. No scan: a blocking scan would stall the
charging loop for ~2 s, and trying each network in order finds the same one.
"""
import time

import log
from firmware.net import clock as _clock

_log = log.get("wifi")
# statuses that end an attempt (the rest: idle, connecting -> keep waiting)
_FAILS = ("wrong_password", "no_ap_found", "connect_fail", "assoc_fail", "handshake_timeout", "beacon_timeout")


class Wifi:
    kind = "wifi"

    def __init__(self, wlan, cfg, clock=None):
        self.clock = clock or _clock
        self.wlan = wlan  # cfg["networks"] is checked with the config (firmware/net/rules.py)
        self.cfg = cfg  # the "wifi" config section
        self.reason = None if cfg["networks"] else "not_configured"
        self.ssid = None
        self._configured = False

    def isup(self):
        return self.wlan.isconnected()

    def signal(self):
        return self.wlan.rssi() if self.wlan.isconnected() else None

    def hold_ms(self):
        return 0

    def lost_reason(self):
        st = self.wlan.status()
        return "connection_lost" if st in ("beacon_timeout", "idle", "connecting", "got_ip") else st

    async def up(self):
        c = self.cfg
        if not c["networks"]:
            return False
        w = self.wlan
        w.active(True)
        if not self._configured:
            w.configure(c["hostname"], c["static_ip"], c["gateway"], c["dns"])
            self._configured = True
        for net in c["networks"]:
            ssid = net["ssid"]
            w.connect(ssid, net.get("key", ""))
            t0 = self.clock.ticks_ms()
            while True:
                await self.clock.sleep_ms(50)
                if w.isconnected():
                    self.ssid, self.reason = ssid, None
                    _log.info("joined %s (%s dBm)", ssid, w.rssi())
                    return True
                st = w.status()
                if st in _FAILS:
                    self.reason = st
                    break
                if time.ticks_diff(self.clock.ticks_ms(), t0) >= c["connect_timeout_ms"]:
                    self.reason = "timeout"
                    break
            _log.info("%s: %s", ssid, self.reason)
            w.disconnect()
        self.ssid = None
        return False

    async def down(self):
        self.ssid = None
        self.wlan.disconnect()

    async def close(self):
        await self.down()
