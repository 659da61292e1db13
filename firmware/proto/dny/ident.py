"""Who the pile is to a DNY back end: physical id, device type, firmware number, QR payloads.

Plain arithmetic on the config: CPython runs it too (`upile provision` checks the `dny`
section with it, `upile dny-server` prints QR payloads).

Physical id (../shared/DNY.md section 1): a u32 sent little-endian; as a number its top byte
is the class code and its low 24 bits the decimal number printed under the pile's QR code
(wire `40 AA CE 04` = 0x04CEAA40 = class 04, No. 13544000). Classes: 03 single socket, 04
double socket, 05 10-port, 06 16-port, 07 12-port pile. Our rule for other port counts (the
sheet has no class for them): the smallest class that holds them (3-10 ports: 05, 11-12: 07,
13-16: 06); register (0x20) and heartbeat (0x21) carry the real port count.
"""

CLASSES = ((1, 0x03), (2, 0x04), (10, 0x05), (12, 0x07), (16, 0x06))
NUMBER_MAX = 0xFFFFFF
# device types of the vendor guide's table by class; real 1-2 port sockets send 0x31 (not listed)
_TYPES = {0x03: 0x31, 0x04: 0x31, 0x05: 0x29, 0x06: 0x29, 0x07: 0x30}


def class_code(ports):
    """The class code of a pile with `ports` ports (1..16), or None."""
    for most, code in CLASSES:
        if 1 <= ports <= most:
            return code
    return None


def phys_id(cfg):
    """The physical id as a number (class << 24 | QR number)."""
    return class_code(cfg["pile"]["ports"]) << 24 | cfg["dny"]["number"]


def wire_hex(phys):
    """The id's 4 wire bytes as lowercase hex (little-endian): what QR codes end in."""
    return "%02x%02x%02x%02x" % (phys & 0xFF, (phys >> 8) & 0xFF, (phys >> 16) & 0xFF, phys >> 24)


def qr_payload(base, phys, port=None):
    """A port's QR payload: base URL + '/' + wire hex + '/' + port (2 hex digits, 0-based);
    port None = the pile's own code, 'ff' = the pile picks the port."""
    return "%s/%s/%s" % (base.rstrip("/"), wire_hex(phys), "ff" if port is None else "%02x" % port)


def device_type(cfg):
    t = cfg["dny"]["device_type"]
    return t if t else _TYPES[class_code(cfg["pile"]["ports"])]


def fw_number(version):
    """'6.40' or '6.40.2' -> 640 (major * 100 + minor, as the vendor's V6.40 = 640); 0 when
    the version text does not start with two numbers."""
    parts = version.split(".")
    try:
        major = int(parts[0])
        minor = int("".join(c for c in parts[1] if "0" <= c <= "9")[:2] or "x") if len(parts) > 1 else 0
    except ValueError:
        return 0
    return min(major * 100 + minor, 0xFFFF)
