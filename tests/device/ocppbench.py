# An OCPP charge point in-process for device tests: the real pile (chgsim.Rig: fake board over
# the sim physics, fake clock), the real command interface, the real charge point (its three
# tasks), and a FakeWs + AutoCsms in place of the network.
import asyncio
import os

from chgsim import Rig, Rand, physics
from ocppfakes import AutoCsms, FakeWs

T0 = 1748764800  # 2025-06-01T08:00:00Z


class Bench:
    def __init__(self, n=2, ocpp=None, charging=None, data=None, rig=None):
        from firmware.station import Station
        from firmware.proto.ocpp.cp import Cp

        self.rig = rig or Rig(n=n, keep=40)
        self.rig.wall = T0
        cfg = self.rig.cfg
        cfg["backend"]["protocol"] = "ocpp"
        cfg["ocpp"].update({"url": "ws://csms.test/ocpp", "id": "CP1"})
        cfg["ocpp"].update(ocpp or {})
        cfg["charging"].update(charging or {})
        tmp = os.getenv("UPILE_TMP") or "."
        self.data = data or "%s/ocpp%d" % (tmp, Rand(id(self) & 0xFFFF).next())
        self.station = Station(cfg, self.rig.bus, version="9.9.9")
        self.station.attach(pile=self.rig.pile)
        self.station.config_path = self.data + "/pile.json"
        self.cp = Cp(cfg, self.station, self.rig.bus, data=self.data)
        self.online = True
        self.ws = None
        self.csms = None
        self.opens = 0
        self.cp.conn.open = self._open
        self.tasks = [asyncio.create_task(f(lambda: None)) for f in (self.cp.run_conn, self.cp.run_events,
                                                                       self.cp.run_sender)]

    async def _open(self):
        import websocket

        self.opens += 1
        if not self.online:
            self.cp.conn.fails += 1
            raise websocket.WSError("connect", "offline in the test")
        self.cp.conn.fails = 0
        self.ws = FakeWs()
        keep = self.csms
        self.csms = AutoCsms(self.ws)
        if keep is not None:  # the same CSMS behind the new connection
            self.csms.boot, self.csms.errors, self.csms.tags = keep.boot, keep.errors, keep.tags
            self.csms.silent, self.csms.txid, self.csms.ids = keep.silent, keep.txid, keep.ids
            self.csms.calls = keep.calls
            keep.stop()
        self.cp.conn.ws = self.ws
        return self.ws

    def drop(self):
        """The connection dies (and stays down while self.online is False)."""
        if self.ws is not None:
            self.ws.abort()

    async def settle(self, ms=30):
        for _ in range(ms // 5):
            await asyncio.sleep_ms(5)

    async def run(self, seconds, step_s=1):
        """The pile runs `seconds` (fake clock), yielding to the charge point's tasks between steps."""
        for _ in range(seconds // step_s):
            self.rig.run(step_s)
            await asyncio.sleep_ms(1)
        await self.settle()

    async def until(self, pred, ms=3000, pile_s=0):
        """Wait (real time) until pred() holds; pile_s > 0 steps the pile meanwhile."""
        for _ in range(ms // 10):
            if pred():
                return True
            if pile_s:
                self.rig.run(pile_s)
            await asyncio.sleep_ms(10)
        raise AssertionError("condition not met; CSMS saw %r" % [(c[1], c[2]) for c in self.csms.calls[-12:]])

    async def booted(self):
        await self.until(lambda: self.cp.accepted.is_set() and self.csms is not None)
        await self.until(lambda: not self.cp.status.dirty)

    def plug(self, port, **bike):
        self.rig.plant.ports[port - 1].plug(physics.Bike(**bike) if bike else physics.Bike(capacity_wh=5000))

    def calls(self, action):
        return [c[2] for c in self.csms.calls if c[1] == action]

    def close(self):
        for t in self.tasks:
            t.cancel()
        if self.csms is not None:
            self.csms.stop()
