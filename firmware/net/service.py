"""Connectivity start-up: builds the radio board, Wi-Fi, modem, link manager, time sync and
data budget from config and runs them beside charging (which never waits on any of it).

    net = service.start(cfg, on_event=fn)   # fn(event, kind, detail): link_up / link_down
    net.links.kind, net.time.status(), net.budget.allow_update("image"), net.status()
"""
import asyncio

import log
from firmware.net import ntp
from firmware.net.budget import Budget
from firmware.net.link import LinkManager
from firmware.net.timesync import TimeSync

_log = log.get("net")


class Net:
    def __init__(self, cfg, on_event=None, radio=None, set_rtc=None, clock=None):
        if radio is None:
            from firmware.board.radio import Radio

            radio = Radio(cfg["modem"])
        if set_rtc is None:
            from firmware.board.clock import set_utc as set_rtc
        self.cfg = cfg
        self.radio = radio
        self.time = TimeSync(set_rtc, path="/data/net/time.json", clock=clock)
        self.budget = Budget(cfg["budget"], now=self.time.now, clock=clock)
        links = []
        order = cfg["net"]["order"]
        if "wifi" in order:
            from firmware.net.wifi import Wifi

            links.append(Wifi(radio.wlan(), cfg["wifi"], clock=clock))
        self.modem = None
        if "cellular" in order and cfg["modem"]["enabled"]:
            from firmware.net.modem import Modem

            self.modem = Modem(radio, cfg["modem"], self.time, clock=clock)
            links.append(self.modem)
        self.links = LinkManager(links, cfg["net"], cfg["backend"], on_event=on_event, budget=self.budget,
                                 clock=clock)
        self.links.subscribe(self._on_link)
        self._ntp_task = None
        self._kick = asyncio.Event()

    def start(self):
        self.links.start()
        if self.cfg["net"]["ntp_host"]:
            self._ntp_task = asyncio.create_task(self._ntp_loop())
        return self

    async def stop(self):
        if self._ntp_task is not None:
            self._ntp_task.cancel()
            self._ntp_task = None
        await self.links.stop()
        self.budget.save()

    def _on_link(self, event, kind, detail):
        if event == "link_up":
            self._kick.set()

    async def _ntp_loop(self):
        c = self.cfg["net"]
        while True:
            await self._kick.wait()
            self._kick.clear()
            while self.links.active is not None:
                ok = await ntp.sync(self.time, c["ntp_host"])
                _log.info("NTP %s: %s", c["ntp_host"], "ok" if ok else "failed")
                try:  # next sync after the interval, or at once on the next link_up
                    await asyncio.wait_for_ms(self._kick.wait(), c["ntp_interval_ms"] if ok else 60000)
                    self._kick.clear()
                except asyncio.TimeoutError:
                    pass

    def status(self):
        return {"link": self.links.status(), "modem": self.modem.status() if self.modem else None,
                "time": self.time.status(), "cell_month": self.budget.cellular_month()}


def start(cfg, on_event=None):
    return Net(cfg, on_event).start()
