"""OCPP date-times: unix seconds <-> "2025-04-01T12:00:00Z" (UTC, RFC 3339), without the
port's epoch or the RTC (a protocol does not import the net domain's helpers)."""


def iso(unix):
    """Unix seconds -> "YYYY-MM-DDTHH:MM:SSZ"."""
    unix = int(unix)
    days, s = divmod(unix, 86400)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, d, s // 3600, s // 60 % 60, s % 60)


def unix(s):
    """A validated RFC 3339 date-time (validate.datetime_ok) -> unix seconds (fraction dropped)."""
    y, mo, d = int(s[0:4]), int(s[5:7]), int(s[8:10])
    h, mi, sec = int(s[11:13]), int(s[14:16]), int(s[17:19])
    y2 = y - (1 if mo <= 2 else 0)
    era = y2 // 400
    yoe = y2 - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    t = (era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + sec
    i = 19
    if s[i] == ".":
        i += 1
        while i < len(s) and "0" <= s[i] <= "9":
            i += 1
    z = s[i:]
    if z and z[0] in "+-":
        off = int(z[1:3]) * 3600 + int(z[4:6]) * 60
        t = t - off if z[0] == "+" else t + off
    return t
