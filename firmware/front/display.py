"""What the front panel shows: eight 7-segment digits (prompts, keypad entry, remaining
time or money, a faulted port's error code, the pile number for the app, the firmware
version) and a pair
of LEDs per port (green free, red busy, red blinking faulted, both reserved, dark out of
service). Drawn into firmware/board/ht16k33.py's Panel; the panel task (front/__init__.py)
calls tick() and feeds it the bus events.
"""
import time

from firmware.front import prompts
from firmware.station import Refused

_SEG = {"0": 0x3F, "1": 0x06, "2": 0x5B, "3": 0x4F, "4": 0x66, "5": 0x6D, "6": 0x7D, "7": 0x07, "8": 0x7F,
        "9": 0x6F, "A": 0x77, "b": 0x7C, "C": 0x39, "c": 0x58, "d": 0x5E, "E": 0x79, "F": 0x71, "G": 0x3D,
        "H": 0x76, "h": 0x74, "I": 0x30, "i": 0x10, "J": 0x1E, "L": 0x38, "n": 0x54, "N": 0x37, "o": 0x5C,
        "O": 0x3F, "P": 0x73, "r": 0x50, "S": 0x6D, "t": 0x78, "U": 0x3E, "u": 0x1C, "y": 0x6E, "-": 0x40,
        "_": 0x08, " ": 0x00, "?": 0x53}
_BUSY = ("Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing")
# the error code a faulted port shows (E-nn; docs/front.md): its fault cause's place here
ERRORS = ("meter_silent", "relay_readback", "relay_welded", "pile_over_temperature", "over_power", "over_current",
          "voltage", "supervisor")


def error_code(cause):
    """1.. for a known fault cause, 99 for any other."""
    return ERRORS.index(cause) + 1 if cause in ERRORS else 99


def render(text, out):
    """Text onto 8 digits (segments into out[0..7]); '.' lights the previous digit's point.
    Unknown characters show as blank; longer text is cut."""
    i = 0
    for ch in text:
        if ch == "." and i:
            out[i - 1] |= 0x80
            continue
        if i == 8:
            break
        out[i] = _SEG.get(ch, 0)
        i += 1
    while i < 8:
        out[i] = 0
        i += 1


class Display:
    def __init__(self, cfg, panel, station, clock=time.ticks_ms, rotate_ms=3000):
        self.clock = clock
        self.panel = panel
        self.station = station
        self.n = cfg["pile"]["ports"]
        self.rotate = rotate_ms  # a prompt shows this long, then the idle pages turn
        pid = "".join(c for c in cfg["pile"]["id"] if "0" <= c <= "9")[-4:]
        self.pages = ["id " + (pid or "----"), "U" + station.version]
        self.status = ["Available"] * (self.n + 1)
        self.cause = [None] * (self.n + 1)
        self.msg = None  # (seg text, until ticks)
        self.entry = None  # keypad text while typing
        self.alarm = None  # seg text of an active alarm
        self._digits = bytearray(8)
        self._page = 0
        self._next = clock()
        self.shown = ""

    def event(self, ev):
        t = ev.topic
        d = ev.data
        if t == "port.status" and 1 <= d.get("port", 0) <= self.n:
            self.status[d["port"]] = d["status"]
            self.cause[d["port"]] = d.get("cause")
        if t.startswith("alarm.") and t[6:] in ("smoke", "water", "door", "over_temperature"):
            what = t[6:]
            self.alarm = prompts.text("alarm_" + ("hot" if what == "over_temperature" else what), "seg") \
                if d.get("on") else None
        for key, port, fen, mins, why, _ in prompts.from_event(ev):
            if key == "fault":
                self.show("P%02d E-%02d" % (port, error_code(why)))
            else:
                self.show(prompts.text(key, "seg", port, fen, mins, why))

    def show(self, text, ms=None):
        self.msg = (text, time.ticks_add(self.clock(), ms or self.rotate))

    def _idle_page(self):
        """Pages in turn: the pile number (for the app), the version, then each busy port's
        remaining time or money."""
        pages = list(self.pages)
        for n in range(1, self.n + 1):
            if self.status[n] == "Faulted":
                pages.append("P%02d E-%02d" % (n, error_code(self.cause[n])))
            elif self.status[n] in _BUSY:
                pages.append(n)
        self._page = (self._page + 1) % len(pages)
        p = pages[self._page]
        if type(p) is str:
            return p
        try:
            info = self.station.port(p)
        except Refused:  # charging not running: the number only
            return "P%02d" % p
        kind, amount = info.get("kind"), info.get("amount") or 0
        if kind == "money":
            return "P%02d%s" % (p, prompts.yuan(max(0, amount - (info.get("fen") or 0))))
        if kind == "time":
            left = max(0, amount * 60 - (info.get("charged_s") or 0))
            return "P%02d %d.%02d" % (p, left // 3600, left % 3600 // 60)
        return "P%02d  on" % p

    def tick(self, now=None):
        now = self.clock() if now is None else now
        if self.entry is not None:
            text = self.entry
        elif self.alarm is not None:
            text = self.alarm
        elif self.msg is not None and time.ticks_diff(self.msg[1], now) > 0:
            text = self.msg[0]
        else:
            self.msg = None
            if time.ticks_diff(now, self._next) >= 0:
                self._next = time.ticks_add(now, self.rotate)
                self.shown = self._idle_page()
            text = self.shown
        self.shown = text
        render(text, self._digits)
        p = self.panel
        for i in range(8):
            p.set_digit(i, self._digits[i])
        blink = (now // 500) & 1
        for n in range(1, self.n + 1):
            st = self.status[n]
            green = st in ("Available", "Reserved")
            red = st in _BUSY or st == "Reserved" or (st == "Faulted" and blink)
            p.set_led(2 * (n - 1), green)
            p.set_led(2 * (n - 1) + 1, red)
        p.show()
