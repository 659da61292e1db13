"""Data budget: bytes sent and received per link kind, per day and per month, kept on flash.

Mobile data costs money. Network users (HTTP/OTA, OCPP) call count(tx, rx) for what they
moved; the link manager sets .kind. Saved atomically every `save_ms` and on a day change
(not per packet: flash wear). OTA asks allow_update(kind, size) before a download: over the
monthly cellular budget it defers `image` updates (or all, by config) to Wi-Fi or next month.
"""
import time

import fsatomic
from firmware.net import clock as _clock
from firmware.net.timesync import ymd_from_unix

_DAYS = 7  # daily history kept


class Budget:
    def __init__(self, cfg, path="/data/net/usage.json", now=None, clock=None):
        self._ms = (clock or _clock).ticks_ms
        """cfg: the "budget" section; now: fn() -> unix seconds or None (clock unset)."""
        self.cfg = cfg  # budget.defer is checked with the config (firmware/net/rules.py)
        self.path = path
        self._now = now or (lambda: None)
        self.kind = None  # set by the link manager: "wifi" | "cellular" | None
        self._dirty = False
        self._saved = self._ms()
        try:
            d = fsatomic.read_json(path, None)
        except (fsatomic.Corrupt, ValueError, OSError):
            d = None  # a damaged counter file costs the counts, never the pile
        if not isinstance(d, dict) or not all(k in d for k in ("days", "month", "cell_month")):
            d = {"days": [], "month": None, "cell_month": 0}
        self.d = d
        self._roll()

    def _today(self):
        unix = self._now()
        if unix is None:
            return None
        y, m, dd = ymd_from_unix(int(unix))
        return "%04d-%02d-%02d" % (y, m, dd)

    def _roll(self):
        """Start a new day (and month) record when the date changed."""
        day = self._today()
        days = self.d["days"]
        if days and (day is None or days[-1]["day"] == day):
            return days[-1]
        if day is not None and self.d["month"] != day[:7]:
            if self.d["month"] is not None:  # a new month; None: counted before the clock was set
                self.d["cell_month"] = 0
            self.d["month"] = day[:7]
        if days and days[-1]["day"] is None:  # counted before the clock was set: that was today
            days[-1]["day"] = day
            return days[-1]
        rec = {"day": day, "wifi": [0, 0], "cellular": [0, 0]}
        days.append(rec)
        if len(days) > _DAYS:
            del days[0]
        if len(days) > 1:
            self.save()  # yesterday's counts are final: persist them now
        return rec

    def count(self, tx, rx, kind=None):
        kind = kind or self.kind
        if kind not in ("wifi", "cellular"):
            return
        rec = self._roll()
        c = rec[kind]
        c[0] += tx
        c[1] += rx
        if kind == "cellular":
            self.d["cell_month"] += tx + rx
        self._dirty = True
        if time.ticks_diff(self._ms(), self._saved) >= self.cfg["save_ms"]:
            self.save()

    def save(self):
        try:
            if "/" in self.path:
                fsatomic.mkdirs(self.path.rsplit("/", 1)[0] or "/")
            fsatomic.write_json(self.path, self.d)
        except OSError:
            return  # full flash: counts stay in RAM, charging goes on
        self._dirty = False
        self._saved = self._ms()

    def today(self):
        return self._roll()

    def cellular_month(self):
        self._roll()
        return self.d["cell_month"]

    def allow_update(self, kind, size=0):
        """kind: "app" | "image". -> (allowed, reason). Only cellular with a budget defers."""
        if kind not in ("app", "image"):
            raise ValueError("allow_update: kind must be app or image, got %r" % (kind,))
        if self.kind != "cellular":
            return True, "ok"
        self._roll()  # a new month starts with a fresh budget even before anything was counted
        limit = self.cfg["cell_month_kb"] * 1024
        if not limit:
            return True, "ok"
        if kind != "image" and self.cfg["defer"] == "image":
            return True, "ok"
        if self.d["cell_month"] + size > limit:
            return False, "cellular_budget"
        return True, "ok"
