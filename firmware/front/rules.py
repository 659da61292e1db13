"""Config rules of the front's sections (front, card, code, coin, alarm, loadcheck): what a
schema cannot say. The pins of the front against the board's pin map are checked with the
rest of the board (firmware/board/rules.py). Plain string work: CPython runs it too
(`upile provision`). Each check returns None or "section.key: what is wrong".
"""
from firmware import cfgtext
from firmware.ota.policy import window_error

KINDS = ("time", "energy", "money", "full")


def _budget(sec, c):
    if c["kind"] not in KINDS:
        return "%s.kind: %r: expected time, energy, money or full" % (sec, c["kind"])
    if c["kind"] != "full" and c["amount"] <= 0:
        return "%s.amount: a %s budget needs an amount above 0" % (sec, c["kind"])
    return None


def _path(sec, key, c):
    err = cfgtext.file_path(c[key], "/data/")
    return "%s.%s: %r: %s" % (sec, key, c[key], err) if err else None


def check_front(cfg):
    f = cfg["front"]
    if f["lang"] not in ("zh", "en"):
        return "front.lang: %r: expected zh or en" % f["lang"]
    err = window_error(f["quiet"])
    if err:
        return "front.quiet: %r: %s" % (f["quiet"], err)
    if f["qr_url"]:
        err = cfgtext.printable(f["qr_url"])
        if err:
            return "front.qr_url: %s" % err
    if f["quiet_volume"] > f["volume"]:
        return "front.quiet_volume: %d is above front.volume %d" % (f["quiet_volume"], f["volume"])
    return None


def check_card(cfg):
    c = cfg["card"]
    if c["check"] not in ("local", "backend"):
        return "card.check: %r: expected local or backend" % c["check"]
    return _path("card", "list", c) or _budget("card", c)


def check_code(cfg):
    c = cfg["code"]
    s = c["secret"]
    if s:
        # a derived code is an HMAC under this key: at least 8 bytes, given in hex
        if len(s) % 2 or len(s) < 16:
            return "code.secret: expected an even number (16-64) of hex digits"
        for ch in s:
            if ch not in "0123456789abcdefABCDEF":
                return "code.secret: expected an even number (16-64) of hex digits"
    return _budget("code", c) or _path("code", "journal", c)


def check_coin(cfg):
    return _path("coin", "journal", cfg["coin"])


def check_alarm(cfg):
    a = cfg["alarm"]
    seen = {}
    for key in ("smoke_io", "water_io", "door_io", "smoke_test_io"):
        n = a[key]
        if n < 0:
            continue
        if n in seen:
            return "alarm.%s: bridge GPIO%d is already alarm.%s" % (key, n, seen[n])
        seen[n] = key
    if a["smoke_test_io"] >= 0 and a["smoke_io"] < 0:
        return "alarm.smoke_test_io: a self-test needs the detector's input (alarm.smoke_io)"
    return _path("alarm", "journal", a)


def check_loadcheck(cfg):
    c = cfg["loadcheck"]
    if c["pf_charger"] >= c["pf_resistive"]:
        return "loadcheck.pf_charger: %d is not below loadcheck.pf_resistive %d" % (c["pf_charger"], c["pf_resistive"])
    if c["min_s"] >= c["window_s"]:
        return "loadcheck.min_s: %d is not below loadcheck.window_s %d" % (c["min_s"], c["window_s"])
    if c["sample_ms"] > c["min_s"] * 1000 // 4:
        return "loadcheck.sample_ms: %d leaves fewer than 4 samples in loadcheck.min_s" % c["sample_ms"]
    return None
