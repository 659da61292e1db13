"""Wall-clock bookkeeping: which source set the RTC (NTP or the modem's network time) and when.

The first good source sets the RTC; later syncs from either source refresh it. TLS date
checks and the manifest expiry policy ask `synced()` / `now()` before trusting the clock.
"""
import time

import fsatomic
from firmware.net import clock as _clock

_MIN_UNIX = 1704067200  # 2024-01-01: anything earlier is an unset clock


def unix_from_utc(y, mo, d, h, mi, s):
    """Civil UTC date -> seconds since 1970 (no port epoch involved)."""
    y2 = y - (1 if mo <= 2 else 0)
    era = y2 // 400
    yoe = y2 - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return days * 86400 + h * 3600 + mi * 60 + s


def ymd_from_unix(unix):
    """Seconds since 1970 -> (year, month, day) UTC."""
    z = unix // 86400 + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (yoe + era * 400 + (1 if m <= 2 else 0), m, d)


class TimeSync:
    """Which source set the clock and when; the last sync is kept on flash (`path`) so
    status() can say it after a reboot (synced() stays False until this boot's own sync)."""

    def __init__(self, set_rtc=None, path=None, ntp_hold_ms=86400000, clock=None):
        self._ms = (clock or _clock).ticks_ms
        self._set_rtc = set_rtc  # board: fn(unix seconds)
        self.path = path
        self.ntp_hold_ms = ntp_hold_ms  # an NTP time this fresh is not stepped by the modem's
        self.source = None  # "ntp" | "modem"
        self.unix = None  # unix seconds at the last sync
        self._ticks = None  # ticks_ms at the last sync
        self._anchor = None  # [unix, ticks_ms] that now() counts from
        self.syncs = 0
        self.ntp_error = None  # reason of the last failed NTP query (firmware/net/ntp.py)
        self.last = None  # (source, unix) of the last sync before this boot, from flash
        self.on_set = None  # fn(source, unix) after each sync (the app: time.set on the bus)
        if path:
            try:
                d = fsatomic.read_json(path, None)
                self.last = (d["source"], d["unix"]) if isinstance(d, dict) else None
            except (fsatomic.Corrupt, ValueError, KeyError, TypeError, OSError):
                self.last = None  # a damaged file costs the history, nothing else

    def set(self, source, unix):
        """Record a time from `source` ("ntp" | "modem"); returns True when the clock was set.

        Implausible times (before 2024) change nothing. The first source to answer sets the
        RTC; after that NTP always refreshes it, while the modem's whole-second network time
        only does when no NTP sync happened within ntp_hold_ms."""
        if unix < _MIN_UNIX:
            return False
        if (source != "ntp" and self.source == "ntp"
                and time.ticks_diff(self._ms(), self._ticks) < self.ntp_hold_ms):
            return False
        if self._set_rtc is not None:
            self._set_rtc(int(unix))
        self.source, self.unix, self._ticks = source, int(unix), self._ms()
        self._anchor = [self.unix, self._ticks]
        self.syncs += 1
        self.last = (source, self.unix)
        if self.on_set is not None:
            self.on_set(source, self.unix)
        if self.path:
            try:
                fsatomic.mkdirs(self.path.rsplit("/", 1)[0] if "/" in self.path else ".")
                fsatomic.write_json(self.path, {"source": source, "unix": self.unix})
            except OSError:
                pass  # full flash: the clock is set all the same
        return True

    def synced(self):
        return self.unix is not None

    def age_ms(self):
        """ms since the last sync, or None."""
        return None if self._ticks is None else time.ticks_diff(self._ms(), self._ticks)

    def now(self):
        """Unix seconds by the last sync plus elapsed ticks, or None when never synced."""
        if self.unix is None:
            return None
        a = self._anchor
        ms = time.ticks_diff(self._ms(), a[1])
        if ms >= 3600000:  # move the anchor hourly: ticks_ms wraps every ~12.4 days on the ESP32
            a[0] += ms // 1000
            a[1] = time.ticks_add(a[1], ms // 1000 * 1000)
            ms %= 1000
        return a[0] + ms // 1000

    def status(self):
        last = self.last or (None, None)
        return {"source": self.source, "last_sync": self.unix, "age_ms": self.age_ms(), "syncs": self.syncs,
                "last_source": last[0], "last_unix": last[1], "ntp_error": self.ntp_error}
