"""Parameters 0x83 / 0x84 / 0x85 onto our config, read back by 0x90 / 0x91 / 0x92; the server
address 0x34. Every change goes through the station's change_config (firmware/cfgstore.py:
validated like provisioning, written atomically); a value our config refuses is answered 1
("bad parameter") and nothing is written. The running app takes a change at its next start,
except the heartbeat period, which the DNY client applies at once (its own section).

Units (docs/dny.md; the sheet leaves the power fields of 0x83/0x84 open): powers in W where
the vendor's defaults only read as W (unplug 3, dynamic overload 800, unplug noise 10), the
minimum power of 0x84 in 0.1 W (its 300 = our 30 W no-load threshold), 0x85's overload in
0.1 W (the guide's example 20000 = 2000 W), voltages in 0.1 V. Fields with no counterpart
(dynamic overload, second-max window, port alarm temperature, plug sensing, QR lamp) are
accepted and not kept; reads give the vendor's defaults for them.
"""
from firmware.proto.dny import frame
from firmware.station import Refused

# 0x83: (key, offset, size); heartbeat_s is the dny section's, the rest charging's
_P83 = (("unplug_w", 0, 2), ("unplug_s", 2, 2), ("full_pct", 4, 1), ("full_s", 5, 2), ("float_s", 7, 2),
        ("heartbeat_s", 9, 2))
# 0x84 fields we keep: (key, offset, size, divisor)
_P84 = (("unplug2_w", 6, 1, 1), ("unplug2_s", 7, 2, 1), ("full_late_after_s", 9, 2, 1), ("full_late_s", 11, 2, 1),
        ("noload_w", 13, 2, 10), ("noload_s", 15, 2, 1), ("overtemp_c", 19, 1, 1))
_D84 = (800, 30, 1800)  # dynamic overload W, s, from s: not used by our pile


def _get(d, off, size):
    return frame.u8(d, off) if size == 1 else frame.u16(d, off)


def _apply(cli, partial):
    """0 when written, 1 when refused."""
    try:
        cli.written = cli.st.change_config(partial)
    except Refused as e:
        cli.log.info("parameters refused: %s", e.args[1] if len(e.args) > 1 else e.code)
        return 1
    cli.log.info("parameters written: %s", " ".join("%s.%s=%s" % (s, k, v) for s, kv in partial.items()
                                                   for k, v in kv.items()))
    return 0


def set83(cli, data):
    ch, dny = {}, {}
    for key, off, size in _P83:
        v = _get(data, off, size)
        if v is not None:
            (dny if key == "heartbeat_s" else ch)[key] = v
    partial = {}
    if ch:
        partial["charging"] = ch
    if dny:
        partial["dny"] = dny
    if not partial:
        return b"\x01"
    r = _apply(cli, partial)
    if r == 0 and "heartbeat_s" in dny:
        cli.c["heartbeat_s"] = dny["heartbeat_s"]  # ours: at once
        cli.hb_at = None  # the next heartbeat on the new period
    return bytes((r,))


def set84(cli, data):
    ch = {}
    for key, off, size, div in _P84:
        v = _get(data, off, size)
        if v is not None:
            ch[key] = v // div
    return bytes((_apply(cli, {"charging": ch}) if ch else 1,))


def set85(cli, data):
    ch = {}
    for key, off, div in (("max_session_s", 0, 1), ("overpower_w", 2, 10), ("volt_max_dv", 4, 1),
                          ("volt_min_dv", 6, 1)):
        v = frame.u16(data, off)
        if v is not None:
            ch[key] = v // div
    if not ch or ch.get("overpower_w", 0) > cli.c["port_limit_w"]:
        return b"\x01"  # above what the port's hardware takes (the guide: 2000 / 3500 W)
    return bytes((_apply(cli, {"charging": ch}),))


def _cfg(cli):
    return cli.written or cli.st.cfg


def get90(cli, data):
    c, d = _cfg(cli)["charging"], _cfg(cli)["dny"]
    out = bytearray(11)
    vals = {"heartbeat_s": d["heartbeat_s"]}
    for key, off, size in _P83:
        v = vals[key] if key in vals else c[key]
        if size == 1:
            out[off] = min(v, 255)
        else:
            frame.put16(out, off, min(v, 0xFFFF))
    return bytes(out)


def get91(cli, data):
    c = _cfg(cli)["charging"]
    out = bytearray(23)
    for i, v in enumerate(_D84):
        frame.put16(out, 2 * i, v)
    for key, off, size, div in _P84:
        v = min(c[key] * div, 0xFFFF if size == 2 else 255)
        if size == 1:
            out[off] = v
        else:
            frame.put16(out, off, v)
    frame.put16(out, 17, 300)  # second-max window
    out[20] = c["overtemp_c"]  # port alarm: the pile's one limit
    out[22] = 1  # QR lamp off: none fitted
    return bytes(out)


def get92(cli, data):
    c = _cfg(cli)["charging"]
    out = bytearray(8)
    frame.put16(out, 0, min(c["max_session_s"], 0xFFFF))
    frame.put16(out, 2, min(c["overpower_w"] * 10, 0xFFFF))
    frame.put16(out, 4, c["volt_max_dv"])
    frame.put16(out, 6, c["volt_min_dv"])
    return bytes(out)


def new_server(cli, data):
    """0x34: port u16, modem u8, socket B u8, host 46 B (zero-terminated): the back end's
    address, validated and written; the client reconnects there after answering."""
    port = frame.u16(data, 0)
    raw = frame.raw(data, 4, 46) or (bytes(data[4:]) if len(data) > 4 else b"")
    end = raw.find(b"\x00")
    try:
        host = (raw if end < 0 else raw[:end]).decode()
    except UnicodeError:
        return b"\x01"
    if not port or not host:
        return b"\x01"
    if _apply(cli, {"backend": {"host": host, "port": port}}):
        return b"\x01"
    cli.move_to(host, port)
    return b"\x00"
