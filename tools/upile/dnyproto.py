"""The DNY (AP3000) wire format on the host (CPython): frames, a stream parser, and the
layouts of what a pile sends, in the units of ../shared/DNY.md. An independent second
reading of the sheet (the pile's own codec is firmware/proto/dny/frame.py): `upile
dny-server` and the tests check the firmware against it.
"""
import struct

HEAD = b"DNY"
MAX_LEN = 512
PKT = 200  # in-band update packet
CHECK_HEAD = bytes(range(0xA1, 0xA9))


def checksum(b):
    return sum(b) & 0xFFFF


def encode(phys, mid, cmd, data=b""):
    body = HEAD + struct.pack("<HIHB", len(data) + 9, phys, mid, cmd) + bytes(data)
    return body + struct.pack("<H", checksum(body))


def phys_of(cls, number):
    return cls << 24 | number


def wire_hex(phys):
    return struct.pack("<I", phys).hex()


class Parser:
    """feed(bytes) -> [(phys, mid, cmd, data)]; text outside frames is kept in `text`
    (a module's ICCID and `link`), skipped noise counted."""

    def __init__(self):
        self.buf = bytearray()
        self.text = bytearray()
        self.bad = 0

    def feed(self, data):
        self.buf += data
        out = []
        b = self.buf
        while True:
            i = b.find(HEAD)
            if i < 0:
                keep = 2 if b.endswith(b"DN") else (1 if b.endswith(b"D") else 0)
                self.text += b[:len(b) - keep]
                del b[:len(b) - keep]
                return out
            if i:
                self.text += b[:i]
                del b[:i]
            if len(b) < 5:
                return out
            ln = b[3] | b[4] << 8
            if ln < 9 or ln > MAX_LEN:
                self.bad += 1
                self.text += b[:1]
                del b[:1]
                continue
            if len(b) < ln + 5:
                return out
            f = bytes(b[:ln + 5])
            if checksum(f[:-2]) != f[-2] | f[-1] << 8:
                self.bad += 1
                del b[:1]
                continue
            del b[:ln + 5]
            phys, mid, cmd = struct.unpack_from("<IHB", f, 5)
            out.append((phys, mid, cmd, f[12:-2]))


def _u(d, off, fmt):
    n = struct.calcsize(fmt)
    return struct.unpack_from(fmt, d, off)[0] if off + n <= len(d) else None


def temp(b):
    return None if not b else b - 65


def register(d):
    return {"fw": _u(d, 0, "<H"), "ports": _u(d, 2, "B"), "virtual": _u(d, 3, "B"), "type": _u(d, 4, "B"),
            "mode": _u(d, 5, "B"), "power_fw": _u(d, 6, "<H")}


def heartbeat(d):
    n = d[2]
    return {"volts_dv": _u(d, 0, "<H"), "status": list(d[3:3 + n]), "signal": _u(d, 3 + n, "B"),
            "temp_c": temp(_u(d, 4 + n, "B") or 0)}


def settlement(d):
    """0x03: duration s, max power W, energy Wh (0.01 kWh units x 10), port (0-based), start,
    card, reason, order (hex), first-5-min max W, time, occupancy."""
    return {"duration_s": _u(d, 0, "<H"), "max_w": (_u(d, 2, "<H") or 0) / 10, "energy_cwh": _u(d, 4, "<H"),
            "port": _u(d, 6, "B"), "start": _u(d, 7, "B"), "card": d[8:12].hex(), "reason": _u(d, 12, "B"),
            "order": d[13:29].hex(), "max5_w": (_u(d, 29, "<H") or 0) / 10, "time": _u(d, 31, "<I"),
            "occupancy": _u(d, 35, "<H")}


def report(d):
    """0x06 power report."""
    return {"port": d[0], "status": d[1], "duration_s": _u(d, 2, "<H"), "energy_cwh": _u(d, 4, "<H"),
            "start": _u(d, 6, "B"), "now_w": (_u(d, 7, "<H") or 0) / 10, "max_w": (_u(d, 9, "<H") or 0) / 10,
            "min_w": (_u(d, 11, "<H") or 0) / 10, "avg_w": (_u(d, 13, "<H") or 0) / 10, "order": d[15:31].hex(),
            "peak_w": (_u(d, 33, "<H") or 0) / 10, "volts_dv": _u(d, 35, "<H"), "amps_ma": _u(d, 37, "<H"),
            "temp_c": temp(_u(d, 39, "B") or 0), "time": _u(d, 41, "<I")}


def host_beat(d):
    return {"fw": _u(d, 0, "<H"), "rtc": _u(d, 2, "B"), "time": _u(d, 3, "<I"), "csq": _u(d, 7, "B"),
            "modem": _u(d, 8, "B"), "iccid": d[9:29].rstrip(b"\0").decode(errors="replace"), "host_type": _u(d, 29, "B"),
            "imei": d[32:47].rstrip(b"\0").decode(errors="replace"), "modem_fw": d[47:71].rstrip(b"\0").decode(errors="replace")}


def start82(port, order, mode=0, value=0, balance=0, cmd=1, max_time=0, overload=0, length=38):
    """0x82 data (the full 38-byte layout, or cut to `length` as some servers send it)."""
    d = struct.pack("<BIBBH", mode, balance, port, cmd, value) + bytes(order) + struct.pack("<HH", max_time, overload)
    return (d + bytes(38 - len(d)))[:length]


def answer82(d):
    return {"result": d[0], "order": d[1:17].hex() if len(d) >= 17 else None, "port": _u(d, 17, "B"),
            "waiting": _u(d, 18, "<H")}


def check_packet(total_sum, dtype, version):
    d = CHECK_HEAD + struct.pack("<IBH", total_sum & 0xFFFFFFFF, dtype, version)
    return d + bytes(PKT - len(d))
