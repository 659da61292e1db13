"""What the pile says about itself: register 0x20, heartbeats 0x21 (and the legacy 0x01),
the host frames a pile with its own modem also sends (0x11 host heartbeat, 0x35 versions),
alarms 0x42; the mapping of our port states onto DNY's codes (docs/dny.md).
Builders only: the client decides when they go.
"""
from firmware.proto.dny import frame
from firmware.station import Refused

# OCPP status (and fault cause) -> 0x21 port status (0 idle, 1 charging, 2 plugged, 3 full,
# 4 no metering, 5 float, 8 contact/fuse, 9 relay welded, 0x10 detector fault)
_STATUS = {"Available": 0, "Preparing": 1, "Charging": 1, "SuspendedEVSE": 1, "SuspendedEV": 5,
           "Finishing": 0, "Reserved": 0, "Unavailable": 0}
_FAULT = {"meter_silent": 4, "relay_welded": 9, "relay_readback": 8}
# alarm.<what> topics -> 0x42 type (1 mains lost, 2 water, 3 hot-melt, 4 smoke, 5 heat, 6 water level, 7 door)
ALARMS = {"mains": 1, "water": 2, "hot_melt": 3, "smoke": 4, "over_temperature": 5, "heat": 5,
          "water_level": 6, "door": 7}


def port_code(status, fault=None):
    if status == "Faulted":
        return _FAULT.get(fault, 0x10)
    return _STATUS.get(status, 0)


def temp_byte(temp_dc):
    """Temperature byte: degrees C + 65, 0 = no sensor (temp_dc: tenths of a degree)."""
    if temp_dc is None:
        return 0
    return max(1, min(255, temp_dc // 10 + 65))


def register(cli):
    """0x20: fw u16, ports u8, virtual id u8 (0: standalone), device type u8, work mode u8,
    power-board fw u16 (0: none): the full layout of the guide's table."""
    d = bytearray(8)
    frame.put16(d, 0, cli.fw)
    d[2] = cli.n
    d[4] = cli.dtype
    d[5] = cli.work_mode
    return bytes(d)


def _ports(cli):
    """(mains voltage 0.1 V, [port codes], [power 0.1 W], temperature byte) from the station."""
    st = cli.st
    codes, power = [], []
    volts = 0
    for i in range(1, cli.n + 1):
        try:
            p = st.port(i)
        except Refused:  # no pile (charging did not start): every port "no metering"
            codes.append(4)
            power.append(0)
            continue
        codes.append(port_code(p["status"], p.get("fault")))
        power.append(max(0, p.get("p_w") or 0) * 10)
        volts = max(volts, p.get("v_dv") or 0)
    return volts, codes, power, temp_byte(st.status().get("temp_dc"))


def heartbeat(cli):
    """0x21: V u16, N u8, status N x u8, signal u8 (a slave's radio: 0 for us), temp u8."""
    volts, codes, _, temp = _ports(cli)
    n = len(codes)
    d = bytearray(5 + n)
    frame.put16(d, 0, volts)
    d[2] = n
    d[3:3 + n] = bytes(codes)
    d[3 + n] = 0
    d[4 + n] = temp
    return bytes(d)


def heartbeat01(cli):
    """Legacy 0x01: fw u16, V u16, N, status N, power N x u16, peak N x u16, virtual id,
    signal, device type, temp, work mode."""
    volts, codes, power, temp = _ports(cli)
    n = len(codes)
    d = bytearray(5 + 5 * n + 5)
    frame.put16(d, 0, cli.fw)
    frame.put16(d, 2, volts)
    d[4] = n
    d[5:5 + n] = bytes(codes)
    for i in range(n):
        frame.put16(d, 5 + n + 2 * i, min(power[i], 0xFFFF))
        frame.put16(d, 5 + 3 * n + 2 * i, min(cli.charge.peak(i), 0xFFFF))
    o = 5 + 5 * n
    d[o + 2] = cli.dtype
    d[o + 3] = temp
    d[o + 4] = cli.work_mode
    return bytes(d)


def _ascii(d, off, text, n):
    b = (text or "").encode()[:n]
    d[off:off + len(b)] = b


def host_heartbeat(cli):
    """0x11: fw u16, RTC u8, time u32, CSQ u8, modem u8, ICCID 20, host type u8, LoRa u16,
    IMEI 15, modem fw 24 (host guide; a socket with its own modem sends it, [C])."""
    st = cli.st
    idn = st.identity()
    now = st.bus.now()
    d = bytearray(71)
    frame.put16(d, 0, cli.fw)
    if now:  # our clock is the chip's RTC, kept by the net domain; 0 and 0 while unknown
        d[2] = 2
        frame.put32(d, 3, now)
    dbm = idn.get("dbm")
    d[7] = 99 if dbm is None else max(0, min(31, (dbm + 113) // 2))  # 3GPP TS 27.007 CSQ
    d[8] = 1 if st.status().get("link") == "wifi" else 6  # 01 Wi-Fi, 06 4G Cat.1
    _ascii(d, 9, cli.iccid(), 20)
    d[29] = cli.c["host_type"]
    _ascii(d, 32, idn.get("imei"), 15)
    _ascii(d, 47, idn.get("modem"), 24)
    return bytes(d)


def versions(cli):
    """0x35: one type: (device type, reserved, lowest version, physical id): ourselves."""
    d = bytearray(9)
    d[0] = 1
    d[1] = cli.dtype
    frame.put16(d, 3, cli.fw)
    frame.put32(d, 5, cli.phys)
    return bytes(d)


def alarm(topic, data):
    """0x42 (type, port, input bits) for an alarm event switching on, else None."""
    what = topic[6:]  # after "alarm."
    t = ALARMS.get(what)
    if t is None or not data.get("on", True):
        return None
    port = data.get("port")
    return bytes((t, port - 1 if isinstance(port, int) and port > 0 else 0, data.get("inputs", 0) & 0xFF))
