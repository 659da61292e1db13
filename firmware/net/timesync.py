"""Wall-clock bookkeeping: which source set the RTC (NTP or the modem's network time) and when.

The first good source sets the RTC; later syncs from either source refresh it. TLS date
checks and the manifest expiry policy ask `synced()` / `now()` before trusting the clock.
"""
import time

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
    def __init__(self, set_rtc=None):
        self._set_rtc = set_rtc  # board: fn(unix seconds)
        self.source = None  # "ntp" | "modem"
        self.unix = None  # unix seconds at the last sync
        self._ticks = None  # ticks_ms at the last sync
        self.syncs = 0

    def set(self, source, unix):
        """Record a time from `source`; returns False (and changes nothing) if implausible."""
        if unix < _MIN_UNIX:
            return False
        if self._set_rtc is not None:
            self._set_rtc(int(unix))
        self.source, self.unix, self._ticks = source, int(unix), time.ticks_ms()
        self.syncs += 1
        return True

    def synced(self):
        return self.unix is not None

    def age_ms(self):
        """ms since the last sync, or None."""
        return None if self._ticks is None else time.ticks_diff(time.ticks_ms(), self._ticks)

    def now(self):
        """Unix seconds by the last sync plus elapsed ticks, or None when never synced."""
        if self.unix is None:
            return None
        return self.unix + self.age_ms() // 1000

    def status(self):
        return {"source": self.source, "last_sync": self.unix, "age_ms": self.age_ms(), "syncs": self.syncs}
