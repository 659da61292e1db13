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
