"""Connectivity start-up: builds the radio board, Wi-Fi, modem, link manager, time sync and
data budget from config and runs them beside charging (which never waits on any of it).

    net = service.Net(cfg, bus)   # publishes link.up / link.down / time.set on the bus
    supervisor runs net.links.run(beat) and net.ntp_loop(beat) (or net.start() for tests)
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
    def __init__(self, cfg, bus=None, radio=None, set_rtc=None, clock=None):
        if radio is None:
            from firmware.board.radio import Radio

            radio = Radio(cfg["modem"])
        if set_rtc is None:
            from firmware.board.clock import set_utc as set_rtc
        if bus is None:
            from firmware.bus import Bus

            bus = Bus()
        self.cfg = cfg
        self.bus = bus
        self.radio = radio
        self.time = TimeSync(set_rtc, path="/data/net/time.json", clock=clock)
        self.time.on_set = lambda source, unix: bus.publish("time.set", {"source": source, "unix": unix})
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
            self.modem.on_alarm = lambda why: bus.publish("alarm.modem", {"on": why is not None, "reason": why})
            links.append(self.modem)
        self.links = LinkManager(links, cfg["net"], cfg["backend"], bus=bus, budget=self.budget, clock=clock)
        self._ups = bus.subscribe("link.up", size=2)  # NTP syncs at once on a new link
        self._ntp_task = None

    def start(self):
        """Run the link manager and NTP on their own tasks (tests; the app supervises them)."""
        self.links.start()
        if self.cfg["net"]["ntp_host"]:
            self._ntp_task = asyncio.create_task(self.ntp_loop())
        return self

    async def stop(self):
        if self._ntp_task is not None:
            self._ntp_task.cancel()
            self._ntp_task = None
        await self.links.stop()
        self.budget.save()

    async def ntp_loop(self, beat=None):
        """Network time: at every new link, then every ntp_interval_ms (a minute after a
        failure). beat() after each sync tells the supervisor it progresses."""
        c = self.cfg["net"]
        while True:
            await self._ups.get()
            while self.links.active is not None:
                ok = await ntp.sync(self.time, c["ntp_host"])
                _log.info("NTP %s: %s", c["ntp_host"], "ok" if ok else "failed")
                if beat is not None:
                    beat()
                try:  # next sync after the interval, or at once on the next link.up
                    await asyncio.wait_for_ms(self._ups.get(), c["ntp_interval_ms"] if ok else 60000)
                except asyncio.TimeoutError:
                    pass

    def status(self):
        return {"link": self.links.status(), "modem": self.modem.status() if self.modem else None,
                "time": self.time.status(), "cell_month": self.budget.cellular_month()}


def start(cfg, bus=None):
    return Net(cfg, bus).start()
