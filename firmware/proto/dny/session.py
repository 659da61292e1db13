"""The DNY session (the client): one pile (one physical id) talking to its back end (docs/dny.md).

run(beat) is the supervised task: connect (link.py) with backoff and jitter, then per
connection a reader (server requests are answered in order, answers go to the waiting
request) and the job loop that keeps the schedule of section 3 of the sheet (schedule.py);
a job's exception ends the connection and goes up to the supervisor. The bus is read for the whole life of the client (session.*, alarm.*, card.ask), so
nothing that happens while the link is down is missed. A server request repeated with the
same message id (our answer was lost) gets the same answer again, not a second action.
"""
import asyncio
import random
import time
from binascii import crc32

import log
from firmware.proto.dny import charge, frame, schedule, status
from firmware.proto.dny.link import Link
from firmware.proto.dny.settle import Settle
from firmware.station import Refused

_log = log.get("dny")
_ALARMS = 8  # alarms kept while the link is down
# commands the pile sends: a frame with one of them from the server is an answer
_OURS = (0x01, 0x02, 0x03, 0x06, 0x11, 0x12, 0x20, 0x21, 0x22, 0x35, 0x42)


def _jitter():
    return random.getrandbits(5) % 21  # percent off a backoff: a fleet does not reconnect in step


class Client:
    def __init__(self, station, bus):
        from firmware.proto.dny import ident

        cfg = station.cfg
        self.st = station
        self.c = dict(cfg["dny"])  # our running copy (0x83 changes heartbeat_s at once)
        self.host, self.port = cfg["backend"]["host"], cfg["backend"]["port"]
        self.n = cfg["pile"]["ports"]
        self.phys = ident.phys_id(cfg)
        self.dtype = ident.device_type(cfg)
        self.fw = ident.fw_number(station.version)
        self.work_mode = 2 if cfg["meter"]["chip"] == "bl0939" else 0  # bit 1: BL0939 metering
        self.log = _log
        self.link = Link(self.c, self.phys)
        self.sub = bus.subscribe("session.", "alarm.", "card.ask", size=32)
        self.charge = charge.Charge(self)
        self.settle = Settle(self)
        self.ota = None  # inband.Inband while an in-band update runs (loaded on its first packet)
        self.written = None  # the complete config after our last change (reads 0x90-0x92)
        self.online = False
        self.misses = 0
        self.reg_ok = None  # register data the server answered (this connection)
        self.time_ok = False  # 0x22 answered this boot
        self.legacy = False  # the server answers 0x01, not 0x21
        self.hb21_ok = False
        self.sent01 = 0
        self.alarms = []
        self.replies = []  # [message id, command, answer frame, ticks, crc32 of the request]: repeats
        self.tasks = []
        self.hb_at = self.reg_at = self.time_at = self.host_at = None
        self._end = None
        self._answered = [False]
        self._crash = None  # an exception of a job: raised again once the connection is down
        self._moved = False
        self.connects = 0
        ident = None
        _drop("ident")  # what it worked out is kept; its code is not needed again

    # ---- who we are on the wire
    def iccid(self):
        """The preamble: the configured one, else the modem's SIM, else none (docs/dny.md)."""
        if self.c["iccid"]:
            return self.c["iccid"]
        i = self.st.identity().get("iccid")
        return i if i else None

    def move_to(self, host, port):
        """0x34: connect to another server once the answer is out."""
        self.host, self.port = host, port
        self._moved = True

    # ---- the task
    async def run(self, beat=None):
        ev = asyncio.create_task(self._events())
        delay = self.c["backoff_min_ms"]
        try:
            while True:
                if beat:
                    beat()
                ok = await self._connection(beat)
                if ok:
                    delay = self.c["backoff_min_ms"]
                wait = delay - delay * _jitter() // 100
                end = time.ticks_add(time.ticks_ms(), wait)
                while time.ticks_diff(end, time.ticks_ms()) > 0:
                    if beat:
                        beat()
                    await asyncio.sleep_ms(min(1000, max(1, time.ticks_diff(end, time.ticks_ms()))))
                delay = min(delay * 2, self.c["backoff_max_ms"])
        finally:
            ev.cancel()

    async def _connection(self, beat):
        """One connection, until it ends; True when the server answered on it."""
        pre = self.iccid()
        try:
            await self.link.open(self.host, self.port, pre.encode() if pre else None)
        except (OSError, asyncio.TimeoutError) as e:
            self.st.backend_traffic(False)
            _log.info("connect %s:%d failed: %r", self.host, self.port, e)
            return False
        self.connects += 1
        _log.info("connected to %s:%d (preamble %s)", self.host, self.port, pre or "none")
        self._end = asyncio.Event()
        self.reg_ok = None
        self.misses = 0
        self._moved = False
        now = time.ticks_ms()
        self.reg_at = self.hb_at = self.host_at = now
        if not self.time_ok:  # once answered, the 12-hour schedule goes on across reconnects
            self.time_at = now
        answered = [False]
        self._answered = answered
        self.settle.wake(0)  # pending settlements go after every reconnect
        self.spawn(self._reader())
        self.spawn(schedule.run(self, beat))
        try:
            await self._end.wait()
        finally:
            for t in self.tasks:
                t.cancel()
            self.tasks = []
            await self.link.close()
            if self.ota is not None:
                self.ota.link_lost()
            self._count(None)  # the bytes; how the link did was said as it went
            if self.online:
                self.online = False
                self.st.backend_state(False, "dny", "connection lost")
                _log.warn("offline: connection lost")
        e, self._crash = self._crash, None
        if e is not None:
            raise e
        return answered[0]

    def _count(self, ok):
        tx, rx = self.link.take_bytes()
        self.st.backend_traffic(ok, tx, rx)

    def drop(self, why):
        _log.info("dropping the connection: %s", why)
        if self._end is not None:
            self._end.set()

    async def _reader(self):
        try:
            await self.link.read(self._on_frame)
            self.drop("closed by the server")
        except OSError as e:
            self.drop("read failed: %r" % e)

    def spawn(self, coro):
        """A job of this connection: a bug in it ends the connection and goes up to the
        supervisor (logged, counted, restarted) instead of dying unseen."""
        self.tasks = [t for t in self.tasks if not t.done()]

        async def guarded():
            try:
                await coro
            except Exception as e:
                if self._crash is None:
                    self._crash = e
                self.drop("a job failed: %r" % e)

        self.tasks.append(asyncio.create_task(guarded()))

    # ---- frames from the server
    async def _on_frame(self, phys, mid, cmd, data):
        if phys != self.phys:
            return  # another pile's frame (a host's slaves share links): not ours
        if cmd in _OURS:
            if self.link.answered(mid, cmd, data):
                self._answered[0] = True
            return
        now = time.ticks_ms()
        keep = 2 * self.c["answer_ms"] + 1000
        self.replies = [r for r in self.replies if time.ticks_diff(now, r[3]) < keep]
        sig = crc32(data)
        for r in self.replies:
            if r[0] == mid and r[1] == cmd and r[4] == sig:  # the same request again: the same answer
                await self.link.send(r[2])
                return
        try:
            out = await self._handle(cmd, data)
        except Refused as e:
            _log.info("command 0x%02x refused: %s", cmd, e.code)
            out = b"\x01"
        if out is None:
            return
        f = frame.encode(self.phys, mid, cmd, out)
        self.replies.append([mid, cmd, f, now, sig])
        del self.replies[:-8]
        await self.link.send(f)
        if cmd == 0x87 or cmd == 0x31:
            await self._reboot()
        if self._moved:
            self.drop("the server moved to %s:%d" % (self.host, self.port))

    async def _handle(self, cmd, data):
        """The answer's data for a server request (None: no answer)."""
        if cmd == 0x82:
            return self.charge.start_stop(data)
        if cmd == 0x8A:
            return self.charge.change(data)
        h = _PARAMS.get(cmd)
        if h is not None:  # parameters are rare: their code is loaded for the command only
            from firmware.proto.dny import params

            try:
                return getattr(params, h)(self, data)
            finally:
                params = None
                _drop("params")
        if cmd == 0x81:  # query: register and heartbeat now
            self.reg_ok = None
            self.reg_at = self.hb_at = time.ticks_ms()
            return None
        if cmd in (0xE0, 0xE1, 0xE2, 0xE4, 0x05):
            if self.ota is None:
                from firmware.proto.dny import inband

                self.ota = inband.Inband(self)
            if cmd == 0x05:  # a server asking the pile to update: our normal check, no answer
                self.ota.check_now("0x05")
                return None
            return await self.ota.handle(cmd, data)
        if cmd == 0x87 or cmd == 0x31:
            return b"\x00"  # received; the reboot follows the answer
        _log.info("command 0x%02x not supported: answered 1", cmd)
        return b"\x01"

    async def _reboot(self):
        _log.warn("reboot commanded by the server")
        await asyncio.sleep_ms(200)  # the answer leaves the socket first
        self.st.reset(True, "dny reboot")

    # ---- the bus
    async def _events(self):
        sub = self.sub
        while True:
            ev = await sub.get()
            t, d = ev.topic, ev.data
            try:
                if t == "session.sample":
                    self.charge.sample(d)
                elif t == "session.started":
                    self.charge.started(d)
                elif t == "session.stopped":
                    self.charge.stopped(d)
                    self.settle.wake(self.c["settle_delay_ms"])
                elif t.startswith("alarm."):
                    a = status.alarm(t, d)
                    if a is not None:
                        self.alarms.append(a)
                        del self.alarms[:-_ALARMS]
                elif t == "card.ask":
                    self.spawn(self._card(d))
            except Exception as e:  # a malformed event (or a bug): logged, the next one still counts
                _log.exc("event %s" % t, e)

    async def _card(self, d):
        """The front asks about a card (card.ask): 0x02 to the server, its account status back
        through station.card_answer. No link or no answer: nothing is said, and the front's
        own list decides when its wait ends (firmware/front/cards.py)."""
        r = await self.link.request(0x02, charge.Charge.card(d)) if self.link.up() else None
        if r is None or len(r) < 5:
            return
        code = r[4]
        status = charge.CARD_STATUS.get(code, "rejected")
        ok = status == "accepted"
        self.st.card_answer(d["req"], ok, None, 0, frame.u32(r, 6), None if ok else status)


# parameter commands: params.py's function answering each
_PARAMS = {0x83: "set83", 0x84: "set84", 0x85: "set85", 0x90: "get90", 0x91: "get91", 0x92: "get92", 0x34: "new_server"}


def _drop(leaf):
    """A module of this package leaves the heap until it is imported again."""
    import sys

    from firmware.proto import dny

    sys.modules.pop("firmware.proto.dny." + leaf, None)
    if hasattr(dny, leaf):
        delattr(dny, leaf)
