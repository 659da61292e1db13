"""What 4G modules answer, read by shape: error codes, registration, identity, clock, signal.

Pure functions (no I/O) so the engine and the driver share them and tests feed them vendor
lines directly. Sources: 3GPP TS 27.007 (§9.2 error table, §7.2/§10.1.19/§10.1.22 +CREG /
+CGREG / +CEREG) and the module manuals cited in docs/net.md.
"""
from firmware.net import timesync

# +CME ERROR verbose texts (AT+CMEE=2) -> the numeric code of TS 27.007 §9.2.1, as one string
# (one object, not 32): "|<n>:<text>|". Vendors vary case: compared in lower case.
_CME_TEXT = (
    "|0:phone failure|1:no connection to phone|2:phone-adaptor link reserved"
    "|3:operation not allowed|4:operation not supported|5:ph-sim pin required"
    "|6:ph-fsim pin required|7:ph-fsim puk required|10:sim not inserted|11:sim pin required"
    "|12:sim puk required|13:sim failure|14:sim busy|15:sim wrong|16:incorrect password"
    "|17:sim pin2 required|18:sim puk2 required|20:memory full|21:invalid index|22:not found"
    "|23:memory failure|24:text string too long|25:invalid characters in text string"
    "|26:dial string too long|27:invalid characters in dial string|30:no network service"
    "|31:network timeout|32:network not allowed - emergency calls only"
    "|40:network personalization pin required|41:network personalization puk required"
    "|50:incorrect parameters|100:unknown|"
)


def cme_code(txt):
    """'10' or 'SIM not inserted' -> 10; an unknown text is returned as it came."""
    try:
        return int(txt)
    except ValueError:
        pass
    low = txt.lower()
    if "|" not in low:
        i = _CME_TEXT.find(":" + low + "|")
        if i > 0:
            return int(_CME_TEXT[_CME_TEXT.rfind("|", 0, i) + 1:i])
    if low.startswith("network not allowed"):  # "... emergency calls only" spelled many ways
        return 32
    return txt


# SIM +CME errors -> reasons (13/14 right after boot can be a SIM still initialising)
CME_SIM = {10: "sim_absent", 11: "sim_pin", 12: "sim_puk", 13: "sim_failure", 14: "sim_busy",
           15: "sim_failure", 16: "sim_pin_wrong"}

# registration <stat> (TS 27.007 §7.2, same values for +CGREG / +CEREG) -> (name, what to do):
# "data" registered (data can flow), "roam" registered roaming (config decides), "wait"
# not (yet) registered, "hard" a cause no power cycle cures.
_REG = {
    0: ("not_searching", "wait"),  # not registered, not searching (CFUN=0, just booted...)
    1: ("home", "data"),
    2: ("searching", "wait"),
    3: ("denied", "hard"),
    4: ("unknown", "wait"),  # e.g. out of E-UTRAN coverage
    5: ("roaming", "roam"),
    6: ("sms_only", "data"),  # CS part "SMS only"; the EPS attach carries data
    7: ("sms_only_roaming", "roam"),
    8: ("emergency_only", "hard"),  # attached for emergency bearer services only: no data
    9: ("csfb_not_preferred", "data"),
    10: ("csfb_not_preferred_roaming", "roam"),
    11: ("rlos_only", "hard"),  # attached for access to RLOS only: no data
}


def reg_state(stat, roaming_ok):
    """stat -> (registered for data?, name, hard?)."""
    name, what = _REG.get(stat, ("unknown", "wait"))
    if what == "roam":
        return (True, name, False) if roaming_ok else (False, "roaming_not_allowed", True)
    return what == "data", name, what == "hard"


def fields(line):
    """'+CEREG: 0,1,"x"' -> ['0', '1', 'x']"""
    i = line.find(":")
    return [f.strip().strip('"') for f in line[i + 1:].split(",")]


def reg_stat(line):
    """Stat of a +CREG/+CGREG/+CEREG line in either form, or None.

    Query answer: "+CEREG: n,stat[,tac,ci,act...]"; URC: "+CEREG: stat[,tac,ci,act...]".
    In the URC the second field is the quoted (or empty) area code, in the answer a number."""
    i = line.find(":")
    raw = line[i + 1:].split(",")
    try:
        if len(raw) == 1 or raw[1].strip()[:1] in ('"', ""):
            return int(raw[0])
        return int(raw[1])
    except ValueError:
        return None


def csq_dbm(rssi):
    """AT+CSQ rssi (0..31, 99 unknown) -> dBm or None."""
    if rssi < 0 or rssi > 31:
        return None
    return -113 + 2 * rssi


def _value(line, prefixes):
    """The text after a known prefix (or the bare line), quotes stripped."""
    for p in prefixes:
        if line.startswith(p):
            line = line[len(p):]
            break
    return line.strip().strip('"')


def imei(lines):
    """The first answer line that is an IMEI: 15 digits, bare or after '+CGSN:'."""
    for ln in lines:
        v = _value(ln, ("+CGSN:", "+GSN:"))
        if len(v) == 15 and v.isdigit():
            return v
    return None


_HEX = "0123456789ABCDEF"


def iccid(lines):
    """The first ICCID among the answer lines, upper case: '89' then hex digits (China
    Mobile IoT cards carry letters, some end in F padding), 19-20 characters (ITU-T E.118)
    plus a little slack for vendor padding."""
    for ln in lines:
        v = _value(ln, ("+QCCID:", "+ICCID:", "+CCID:", "+CICCID:")).upper()
        if 18 <= len(v) <= 22 and v[:2] == "89" and all(c in _HEX for c in v):
            return v
    return None


def revision(lines):
    """Firmware revision: '+CGMR: X', 'Revision: X' or a bare line (the engine never hands
    over URC-shaped lines)."""
    for ln in lines:
        v = _value(ln, ("+CGMR:", "+GMR:", "Revision:"))
        if v:
            return v
    return None


def parse_cclk(line):
    """'+CCLK: "26/07/05,12:34:56+32"' or '"2026/07/05,...' -> unix seconds (UTC), or None
    when the clock is unset (modules say 1980, 2000 or 2004 before the network gave the time).
    The zone is in quarter hours with its sign; a missing zone is UTC."""
    try:
        s = fields(line)
        d, t = s[0].split("/"), s[1]
        sign = -1 if "-" in t else 1
        parts = t.replace("-", "+").split("+")
        h, mi, sec = parts[0].split(":")
        zone = int(parts[1]) if len(parts) > 1 and parts[1] else 0
        year = int(d[0])
        if len(d[0]) <= 2:
            year += 2000 if year < 70 else 1900
        if year < 2024 or year > 2099 or zone > 56:
            return None
        unix = timesync.unix_from_utc(year, int(d[1]), int(d[2]), int(h), int(mi), int(sec))
        return unix - sign * zone * 900
    except (ValueError, IndexError):
        return None
