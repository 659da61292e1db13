"""Config rules of the `ocpp` section (firmware/config.py RULES; docs/ocpp.md "Pointing a pile
at a CSMS"). Plain string checks: CPython runs them too (`upile provision`). Never shows a
secret's value (auth_key) or a URL (it may carry credentials).
"""
from firmware import cfgtext
from firmware.proto.ocpp.meter import MEASURANDS, STOP_MEASURANDS  # noqa: F401 (config rules and confkeys)

_HEX = "0123456789abcdefABCDEF"


def ws_url(s):
    """ws(s)://host[:port][/path] as lib/netconn.py splits it; None when fine."""
    for c in s:
        if c <= " " or c >= "\x7f":
            return "has a space, control or non-ASCII character (percent-encode the path)"
    if s.startswith("wss://"):
        rest = s[6:]
    elif s.startswith("ws://"):
        rest = s[5:]
    else:
        return "not a ws:// or wss:// URL"
    i = rest.find("/")
    hostport = rest if i < 0 else rest[:i]
    if "@" in hostport:
        return "has credentials in it (use ocpp.profile and ocpp.auth_key)"
    if ":" in hostport:
        hostport, port = hostport.rsplit(":", 1)
        if len(port) > 5 or not cfgtext.digits(port) or not 1 <= int(port) <= 65535:
            return "port is not 1-65535"
    err = cfgtext.host(hostport)
    return None if err is None else "host is " + err


def auth_key(s):
    """The AuthorizationKey as set: 32-40 hex digits (16-20 bytes, security whitepaper
    A00.FR.205 and the errata's hex rule); None when fine."""
    if len(s) % 2 or not 32 <= len(s) <= 40:
        return "expected 32-40 hex digits (16-20 bytes)"
    for c in s:
        if c not in _HEX:
            return "expected 32-40 hex digits (16-20 bytes)"
    return None


def measurands(s, allowed=MEASURANDS):
    """A comma-separated list of measurands the pile can send; None when fine."""
    if not s:
        return None
    for m in s.split(","):
        if m.strip() not in allowed:
            return "%r is not a measurand this pile meters (%s)" % (m.strip()[:40], ", ".join(allowed))
    return None


def tls_url(o):
    """The wss:// URL profiles 2 and 3 use: url itself or url_tls (None when there is none)."""
    if o["url"].startswith("wss://"):
        return o["url"]
    return o["url_tls"] or None


def profile_error(o, profile):
    """Why the pile cannot run `profile` with this config (None: it can)."""
    if profile in (1, 2) and not o["auth_key"]:
        return "security profile %d needs ocpp.auth_key (Basic authentication)" % profile
    if profile >= 2:
        if tls_url(o) is None:
            return "security profile %d needs a wss:// URL (ocpp.url or ocpp.url_tls)" % profile
        if not o["ca"]:
            return "security profile %d needs ocpp.ca (the CSMS root certificate)" % profile
    if profile == 3 and not (o["cert"] and o["cert_key"]):
        return "security profile 3 needs ocpp.cert and ocpp.cert_key (the charge point's certificate)"
    return None


def check_ocpp(cfg):
    o = cfg["ocpp"]
    if cfg["backend"]["protocol"] == "ocpp" and not o["url"]:
        return "ocpp.url: needed when backend.protocol is ocpp (the CSMS endpoint)"
    if o["url"]:
        err = ws_url(o["url"])
        if err:
            return "ocpp.url: %s" % err
    if o["url_tls"]:
        err = ws_url(o["url_tls"])
        if err or not o["url_tls"].startswith("wss://"):
            return "ocpp.url_tls: %s" % (err or "not a wss:// URL")
    if o["id"]:
        err = cfgtext.printable(o["id"])
        if err:
            return "ocpp.id: %s" % err
    if o["auth_key"]:
        err = auth_key(o["auth_key"])
        if err:
            return "ocpp.auth_key: %s" % err
    for key in ("ca", "cert", "cert_key"):
        if o[key]:
            err = cfgtext.file_path(o[key], "/config/")
            if err:
                return "ocpp.%s: %s" % (key, err)
    if o["url"]:
        if o["url"].startswith("ws://") and o["profile"] >= 2 and not o["url_tls"]:
            return "ocpp.profile: %d needs TLS: a wss:// ocpp.url or ocpp.url_tls" % o["profile"]
        err = profile_error(o, o["profile"])
        if err:
            return "ocpp.profile: " + err
    if o["backoff_min_s"] > o["backoff_max_s"]:
        return "ocpp.backoff_min_s: %d is above ocpp.backoff_max_s %d" % (o["backoff_min_s"], o["backoff_max_s"])
    for key in ("sampled_data", "aligned_data"):
        err = measurands(o[key])
        if err:
            return "ocpp.%s: %s" % (key, err)
    for key in ("stop_sampled", "stop_aligned"):
        err = measurands(o[key], STOP_MEASURANDS)
        if err:
            return "ocpp.%s: %s" % (key, err)
    for key in ("vendor", "model", "serial", "local_tag", "cpo_name"):
        for c in o[key]:
            if not " " <= c <= "~":
                return "ocpp.%s: has a character that is not printable ASCII" % key
    if o["ping_s"] and o["tx_attempts"] and o["ping_s"] >= o["tx_attempts"] * o["tx_retry_s"] > 0:
        # OCPP-J errata 3.11: a ping interval below Attempts x RetryInterval
        return "ocpp.ping_s: %d is not below ocpp.tx_attempts x ocpp.tx_retry_s (%d)" % (
            o["ping_s"], o["tx_attempts"] * o["tx_retry_s"])
    return None
