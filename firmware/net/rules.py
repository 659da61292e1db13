"""Config rules of connectivity: sections `net`, `backend`, `wifi`, `modem`, `budget`
(firmware/config.py RULES). Each returns None or "section.key: what is wrong", never a
secret's value. Plain string checks: CPython runs them too (`upile provision`); the modem's
pins and UART are checked with the rest of the board (firmware/board/rules.py).
"""
from firmware import cfgtext

ORDERS = ("wifi,cellular", "cellular,wifi", "wifi", "cellular")
PROBES = ("tcp", "http")
DEFERS = ("image", "all")
NETWORK_KEYS = ("ssid", "key")


def check_net(cfg):
    n = cfg["net"]
    if n["order"] not in ORDERS:
        return "net.order: %r is not one of %s" % (n["order"], ", ".join(ORDERS))
    if n["order"] == "cellular" and not cfg["modem"]["enabled"]:
        return "net.order: 'cellular' only, but modem.enabled is false: the pile would have no link"
    if n["probe"] not in PROBES:
        return "net.probe: %r is not one of %s" % (n["probe"], ", ".join(PROBES))
    if n["backoff_min_ms"] > n["backoff_max_ms"]:
        return "net.backoff_min_ms: %d is above net.backoff_max_ms %d" % (n["backoff_min_ms"], n["backoff_max_ms"])
    if n["ntp_host"]:
        err = cfgtext.host(n["ntp_host"])
        if err:
            return "net.ntp_host: %r: %s" % (n["ntp_host"], err)
    return None


def check_backend(cfg):
    h = cfg["backend"]["host"]
    err = cfgtext.host(h) if h else None
    return "backend.host: %r: %s" % (h, err) if err else None


def _network(i, n):
    if not isinstance(n, dict):
        return "wifi.networks[%d]: expected an object {\"ssid\": ..., \"key\": ...}" % i
    for k in n:
        if k not in NETWORK_KEYS:
            return "wifi.networks[%d]: unknown key %r (ssid, key)" % (i, k)
    ssid, key = n.get("ssid"), n.get("key", "")
    # 802.11: an SSID is 1-32 octets (UTF-8 here); a WPA2 passphrase 8-63 printable ASCII
    # characters, or the 256-bit PSK itself as 64 hex digits; empty for an open network
    if not isinstance(ssid, str) or not 1 <= len(ssid.encode()) <= 32:
        return "wifi.networks[%d].ssid: expected 1-32 bytes of text" % i
    if not isinstance(key, str):
        return "wifi.networks[%d].key: expected a string" % i
    if key:
        ok = 8 <= len(key) <= 63 and all(" " <= c <= "~" for c in key)
        if len(key) == 64:
            ok = all(c in "0123456789abcdefABCDEF" for c in key)
        if not ok:
            return "wifi.networks[%d].key: expected empty (open), 8-63 printable ASCII characters or 64 hex digits" % i
    return None


def check_wifi(cfg):
    w = cfg["wifi"]
    for i, n in enumerate(w["networks"]):
        err = _network(i, n)
        if err:
            return err
    err = cfgtext.label(w["hostname"])
    if err:
        return "wifi.hostname: %r: %s" % (w["hostname"], err)
    if w["static_ip"]:
        addr, slash, bits = w["static_ip"].partition("/")
        err = cfgtext.ipv4(addr)
        if err is None and slash and not (cfgtext.digits(bits) and 1 <= int(bits) <= 32):
            err = "prefix length is not 1-32"
        if err:
            return "wifi.static_ip: %r: %s (a.b.c.d or a.b.c.d/nn)" % (w["static_ip"], err)
    for key in ("gateway", "dns"):
        err = cfgtext.ipv4(w[key]) if w[key] else None
        if err:
            return "wifi.%s: %r: %s" % (key, w[key], err)
    return None


# modem.model: the PWRKEY/boot timing profiles of firmware/net/modem.py (PROFILES)
MODELS = ("auto", "a76xx", "ec200", "air780")


def check_modem(cfg):
    m = cfg["modem"]
    if m["model"] not in MODELS:
        return "modem.model: %r is not one of %s" % (m["model"], ", ".join(MODELS))
    # 3GPP TS 23.003 9.1: APN labels of letters, digits and hyphens, separated by dots; it
    # also goes inside AT+CGDCONT="...", where a quote would end the string
    apn = m["apn"]
    if apn:
        for lab in apn.split("."):
            if cfgtext.label(lab):
                return "modem.apn: %r is not labels of letters, digits and hyphens separated by dots" % apn
    pin = m["pin"]  # a SIM PIN is 4-8 digits (3GPP TS 02.30, TS 51.010-1 27.14.2); goes into AT+CPIN="..."
    if pin and not (4 <= len(pin) <= 8 and cfgtext.digits(pin)):
        return "modem.pin: expected 4-8 digits (or empty: no PIN)"
    if m["ppp_key"] and not m["ppp_user"]:
        return "modem.ppp_key: set without modem.ppp_user (PAP sends both; firmware/board/radio.py)"
    return None


def check_budget(cfg):
    d = cfg["budget"]["defer"]
    return None if d in DEFERS else "budget.defer: %r is not one of %s" % (d, ", ".join(DEFERS))
