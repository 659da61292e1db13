"""Set the RTC from unix seconds (NTP or modem time), whatever the port's epoch (2000 or 1970)."""
import time

import machine

_OFFSET = 946684800 if time.gmtime(0)[0] == 2000 else 0


def set_utc(unix):
    t = time.gmtime(int(unix) - _OFFSET)
    machine.RTC().datetime((t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0))


def utc():
    """The RTC as unix seconds (UTC), whatever the port's epoch."""
    return time.time() + _OFFSET


_MIN_UNIX = 1704067200  # 2024-01-01: earlier is an RTC that lost its power


def rtc_unix():
    """Unix seconds from the RTC when it holds a plausible time (it survives resets, not a
    power cut), else None: for a pile offline since its last reset."""
    t = int(time.time()) + _OFFSET
    return t if t >= _MIN_UNIX else None
