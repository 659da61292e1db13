"""Config rules of the `front` section: what a schema cannot say. Its pins against the
board's pin map are checked with the rest of the board (firmware/board/rules.py). Plain
string work, no other module imported but cfgtext: CPython runs it too (`upile provision`),
and it is small in the heap while validate() runs it on the pile.
Returns None or "front.key: what is wrong".
"""
from firmware import cfgtext


def _hhmm(t):
    return len(t) == 5 and t[2] == ":" and cfgtext.digits(t[:2] + t[3:]) and int(t[:2]) < 24 and int(t[3:]) < 60


def check_front(cfg):
    f = cfg["front"]
    if f["lang"] not in ("zh", "en"):
        return "front.lang: %r: expected zh or en" % f["lang"]
    q = f["quiet"]
    if q and (len(q) != 11 or q[5] != "-" or not _hhmm(q[:5]) or not _hhmm(q[6:]) or q[:5] == q[6:]):
        return "front.quiet: %r: expected HH:MM-HH:MM, two different times of day" % q
    if f["card_check"] not in ("local", "backend"):
        return "front.card_check: %r: expected local or backend" % f["card_check"]
    s = f["code_secret"]
    # a derived code is an HMAC under this key: at least 8 bytes, given in hex
    if s and (len(s) % 2 or len(s) < 16 or not all(ch in "0123456789abcdefABCDEF" for ch in s)):
        return "front.code_secret: expected an even number (16-64) of hex digits"
    if f["alarms"] & 8 and not f["alarms"] & 1:
        return "front.alarms: the smoke self-test (8) needs the smoke detector (1)"
    if f["loadcheck"] not in ("stop", "report", "off"):
        return "front.loadcheck: %r: expected stop, report or off" % f["loadcheck"]
    return None
