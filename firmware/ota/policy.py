"""When to check and when to install: jittered periods, backoff, idle ports, maintenance window.

Pure functions plus a tiny gate object, so the rules are testable without a network.
A fleet must not hit the release server at once (jitter on every period and retry), and a
paying customer's session is never interrupted (install only when every port is idle or
inside the configured maintenance window).
"""
import os
import time


def rand01():
    """Uniform in [0, 1) from the hardware RNG (os.urandom on the ESP32)."""
    return int.from_bytes(os.urandom(2), "little") / 65536


def jittered(period_s, jitter_s, r=None):
    """period +- jitter seconds (never below 1)."""
    r = rand01() if r is None else r
    return max(1, period_s + int((2 * r - 1) * jitter_s))


def backoff(attempt, base_s, cap_s, r=None):
    """Exponential backoff with 'equal jitter': half fixed, half random, capped."""
    r = rand01() if r is None else r
    d = min(cap_s, base_s * (1 << min(attempt, 16)))
    return d / 2 + r * d / 2


def window_error(text):
    """None if `text` is '' or 'HH:MM-HH:MM' (24 h, two digits each, start != end)."""
    if not text:
        return None
    if len(text) != 11 or text[2] != ":" or text[5] != "-" or text[8] != ":":
        return "expected HH:MM-HH:MM"
    for i in (0, 1, 3, 4, 6, 7, 9, 10):
        if not "0" <= text[i] <= "9":
            return "expected HH:MM-HH:MM"
    for t in (text[:5], text[6:]):
        if int(t[:2]) > 23 or int(t[3:]) > 59:
            return "%s is not a time of day" % t
    if text[:5] == text[6:]:
        return "starts and ends at the same minute (an empty window)"
    return None


def parse_window(text):
    """'HH:MM-HH:MM' (as window_error() accepts) -> (start_min, end_min); '' -> None."""
    if not text:
        return None
    return int(text[:2]) * 60 + int(text[3:5]), int(text[6:8]) * 60 + int(text[9:])


def check(cfg):
    """Config rules of the `ota` section (firmware/config.py RULES): None or "ota.key: what is
    wrong". Plain string work: CPython runs it too (`upile provision`)."""
    from firmware import cfgtext

    o = cfg["ota"]
    err = window_error(o["window"])
    if err:
        return "ota.window: %r: %s" % (o["window"], err)
    url = o["url"]
    if url:
        err = cfgtext.url(url)
        if err:
            return "ota.url: %s" % err  # a URL may carry credentials: not shown
        if url.startswith("http://") and not o["allow_http"]:
            return "ota.url: plain http:// needs ota.allow_http (releases are signed, but the transport is not private)"
        if url.startswith("https://") and not o["ca"]:
            return "ota.ca: an https:// ota.url needs a CA certificate file (lib/http.py refuses without one)"
    for key in ("ca", "keys"):
        if o[key]:
            err = cfgtext.file_path(o[key])
            if err:
                return "ota.%s: %s" % (key, err)  # "keys" looks like a secret's name: not shown
    if o["backoff_s"] > o["backoff_max_s"]:
        return "ota.backoff_s: %d is above ota.backoff_max_s %d" % (o["backoff_s"], o["backoff_max_s"])
    # jittered(): a jitter as large as the period would let checks bunch up at 1 s
    if o["jitter_s"] >= o["check_s"]:
        return "ota.jitter_s: %d is not below ota.check_s %d" % (o["jitter_s"], o["check_s"])
    # firmware/health.py: a trial must be able to stay alive health_s before its time is up
    if o["health_timeout_s"] <= o["health_s"]:
        return "ota.health_timeout_s: %d is not above ota.health_s %d" % (o["health_timeout_s"], o["health_s"])
    return None


def in_window(win, hour, minute):
    """True inside [start, end); a window may wrap past midnight (22:00-04:00)."""
    if win is None:
        return False
    t = hour * 60 + minute
    s, e = win
    return s <= t < e if s <= e else (t >= s or t < e)


class Gate:
    """May we install now? Idle ports (the charging domain's `idle()`) or the window."""

    def __init__(self, idle=None, window="", clock=time.localtime):
        self.idle = idle
        self.win = parse_window(window)
        self.clock = clock

    def may_install(self):
        if self.idle is None or self.idle():
            return True
        t = self.clock()
        return in_window(self.win, t[3], t[4])
