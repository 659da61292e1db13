# A pile for the DNY client's device tests (not a test module): the real Station over the real
# Pile (chgsim's fake board and physics, stepped fast on its own clock), the net domain's real
# TimeSync, a fake link manager and budget; the client runs against dnyfake.Server.
import asyncio
import os

from chgsim import Rig, physics  # noqa: F401 (re-exported for the tests)
from firmware.net.timesync import TimeSync
from firmware.proto import dny
from firmware.station import Station

TMP = os.getenv("UPILE_TMP") or "."
FAST = {"heartbeat_s": 1, "answer_ms": 400, "gap_ms": 0, "link_idle_ms": 600000, "time_s": 3600, "retry_s": 1,
        "host_s": 3600, "report_s": 1, "settle_delay_ms": 50, "settle_retry_s": 2, "settle_next_s": 0,
        "backoff_min_ms": 50, "backoff_max_ms": 200, "connect_timeout_ms": 3000}
CONFIG = TMP + "/pile.json"  # where the station writes config changes in these tests


class Links:
    def __init__(self):
        self.reports = []
        self.kind = "cellular"

    def report(self, ok):
        self.reports.append(ok)


class Budget:
    def __init__(self):
        self.tx = self.rx = 0

    def count(self, tx, rx, kind=None):
        self.tx += tx
        self.rx += rx


class Net:
    def __init__(self):
        self.time = TimeSync()
        self.links = Links()
        self.budget = Budget()
        self.modem = None


class Front:
    """The front's side of a card question: what the back end answered (station.card_answer)."""

    def __init__(self):
        self.answers = []

    def card_answer(self, req, accepted, kind=None, amount=0, balance=None, reason=None):
        self.answers.append((req, accepted, kind, amount, balance, reason))
        return True


class Pile:
    def __init__(self, srv, n=2, **dny_cfg):
        self.rig = r = Rig(n=n)
        cfg = r.cfg
        cfg["backend"].update(host="127.0.0.1", port=srv.port, protocol="dny")
        cfg["dny"].update(number=13544000, iccid="898604D9162390488297")
        cfg["dny"].update(FAST)
        cfg["dny"].update(dny_cfg)
        r.wall = 1750000000
        self.net = Net()
        self.resets = []
        self.st = Station(cfg, r.bus, version="6.40.1", reset=lambda hard, why: self.resets.append((hard, why)))
        self.front = Front()
        self.st.attach(pile=r.pile, net=self.net, front=self.front)
        self.st.config_path = CONFIG
        self.sub = r.bus.subscribe("backend.", size=64)
        self.seen = []
        self.cli = dny.client(self.st, r.bus)
        self.tasks = [asyncio.create_task(self.cli.run()), asyncio.create_task(self._drive())]

    async def _drive(self):
        r = self.rig
        while True:  # the pile's control loop, 1 s of its clock per 5 ms
            r.clock.advance(1000)
            r.wall += 1
            r.pile.step()
            await asyncio.sleep_ms(5)

    def events(self):
        """(topic, data) of every backend.* event so far."""
        while True:
            ev = self.sub.get_nowait()
            if ev is None:
                return self.seen
            self.seen.append((ev.topic, ev.data))

    def stop(self):
        for t in self.tasks:
            t.cancel()
