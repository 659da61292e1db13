"""Malicious-load detection: every new session is watched through the command interface
(station.port(n): W, V, PF as the meter reports them) for its first minutes and classified
(firmware/front/classify.py). A load that is not an e-bike charger (a heater, a kettle, a
heater on the charger's extension lead) is stopped with the cause "not_a_charger" (reason
Other): the bill carries it to the back end, the voice and display say it (session.stopped),
and load.class {port, id, class, why, at_s, pf, w, e} reports every decision, charger and
unknown included. front.loadcheck "report" only reports ("off": not started). Runs without
the front's hardware.
"""
import asyncio
import time

import log
from firmware.front.classify import DEFAULTS, NOT_CHARGER, NAMES, Classifier
from firmware.station import Refused

_log = log.get("load")
SAMPLE_MS = 1000  # one sample of each watched port per second


class LoadCheck:
    def __init__(self, cfg, station, bus, clock=time.ticks_ms, sample_ms=SAMPLE_MS, params=None):
        self.c = params or DEFAULTS
        self.stop = cfg["front"]["loadcheck"] == "stop"
        self.station = station
        self.bus = bus
        self.clock = clock
        self.sample_ms = sample_ms
        self.sub = bus.subscribe("session.started", "session.stopped", size=2 * cfg["pile"]["ports"] + 4)
        self.watch = {}  # port -> [session id, Classifier, ticks at start]
        self.stopped = 0
        self.decided = [0, 0, 0, 0]

    def _events(self, now):
        while True:
            ev = self.sub.get_nowait()
            if ev is None:
                return
            d = ev.data
            if ev.topic == "session.started":
                self.watch[d["port"]] = [d["id"], Classifier(self.c), now]
            else:
                w = self.watch.get(d.get("port"))
                if w is not None and w[0] == d.get("id"):
                    del self.watch[d["port"]]

    def step(self, now=None):
        now = self.clock() if now is None else now
        self._events(now)
        for port in list(self.watch):
            sid, cl, t0 = self.watch[port]
            try:
                info = self.station.port(port)
            except Refused:
                del self.watch[port]
                continue
            if info.get("id") != sid:
                del self.watch[port]
                continue
            r = cl.add(time.ticks_diff(now, t0), info.get("p_w") or 0, info.get("v_dv") or 0, info.get("pf"))
            if not r:
                continue
            del self.watch[port]
            self.decided[r] += 1
            e = cl.elasticity_x100()
            self.bus.publish("load.class", {"port": port, "id": sid, "class": NAMES[r], "why": cl.why,
                                            "at_s": cl.at_ms // 1000, "pf": cl.pf_median(), "w": info.get("p_w"),
                                            "e": e})
            if r == NOT_CHARGER:
                _log.warn("port %d: session %d is not an e-bike charger (%s, pf %s, e %s)", port, sid, cl.why,
                          cl.pf_median(), e)
                if self.stop:
                    try:
                        self.station.stop(port, "Other", "not_a_charger")
                        self.stopped += 1
                    except Refused as ex:  # stopped meanwhile
                        _log.info("port %d: stop refused %s", port, ex.code)

    async def run(self, beat=None):
        while True:
            self.step()
            await asyncio.sleep_ms(self.sample_ms)
