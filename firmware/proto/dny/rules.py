"""Config rules of the DNY back end (section `dny`, firmware/config.py RULES): None or
"dny.key: what is wrong". Plain string and number checks: CPython runs them too
(`upile provision`). Only checked in earnest when `backend.protocol` is "dny": a pile that
speaks OCPP may keep an unprovisioned `dny` section.
"""
from firmware.proto.dny import ident

_HEXU = "0123456789ABCDEF"


def check_dny(cfg):
    d = cfg["dny"]
    if d["iccid"]:
        # a fixed preamble for a Wi-Fi pile whose back end keys sockets on it: the shape of
        # an ICCID as modules send it (20 characters, China's cards start 8986, may hold hex)
        s = d["iccid"]
        if len(s) != 20 or not all(c in _HEXU for c in s):
            return "dny.iccid: expected 20 characters 0-9 or A-F (an ICCID as modules send it), or empty"
    if d["backoff_min_ms"] > d["backoff_max_ms"]:
        return "dny.backoff_min_ms: %d is above dny.backoff_max_ms %d" % (d["backoff_min_ms"], d["backoff_max_ms"])
    if cfg["backend"]["protocol"] != "dny":
        return None
    if not d["number"]:
        return "dny.number: 0: provision the number printed under the pile's QR code (1-%d)" % ident.NUMBER_MAX
    if not cfg["backend"]["host"]:
        return "backend.host: empty, but backend.protocol is dny: the pile would have no server to talk to"
    if ident.class_code(cfg["pile"]["ports"]) is None:
        return "pile.ports: %d has no DNY class code" % cfg["pile"]["ports"]
    if d["port_limit_w"] < cfg["charging"]["overpower_w"]:
        return "dny.port_limit_w: %d is below charging.overpower_w %d (0x85 could never set it)" % (
            d["port_limit_w"], cfg["charging"]["overpower_w"])
    return None
