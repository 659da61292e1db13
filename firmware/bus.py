"""The event bus: the domain publishes what happens, protocols and the pile's front subscribe.

One mechanism and one event shape for everything that goes up (docs/architecture.md):
an Event has a dotted `topic` ("port.status", "session.stopped", "ota.Downloading"), a
`data` dict of JSON-able fields in domain words, `ms` (ticks_ms when published) and `unix`
(wall-clock seconds, or None while the time is not yet known: a protocol that learns the
time later can still date the event from `ms`).

publish() never runs subscriber code: it appends to each matching subscriber's bounded
queue and wakes its task. A full queue drops its oldest event and counts it, so a slow or
dead subscriber loses its own events (and can say so), never blocks the publisher (the
charging control loop) and never costs more than `size` events of RAM.
"""
import asyncio
import time
from micropython import const

_SIZE = const(16)


class Event:
    __slots__ = ("topic", "data", "ms", "unix")

    def __init__(self, topic, data, ms, unix):
        self.topic = topic
        self.data = data
        self.ms = ms
        self.unix = unix

    def __repr__(self):
        return "Event(%s %r)" % (self.topic, self.data)


class Sub:
    """One subscriber's queue of events whose topic starts with one of `prefixes`."""

    def __init__(self, prefixes, size):
        self.prefixes = prefixes
        self.size = size
        self.dropped = 0  # events lost because the queue was full
        self._q = []
        self._flag = asyncio.Event()

    def wants(self, topic):
        for p in self.prefixes:
            if topic.startswith(p):
                return True
        return False

    def put(self, ev):
        q = self._q
        if len(q) >= self.size:
            q.pop(0)
            self.dropped += 1
        q.append(ev)
        self._flag.set()

    def get_nowait(self):
        """The oldest queued event, or None."""
        q = self._q
        if not q:
            self._flag.clear()
            return None
        return q.pop(0)

    async def get(self):
        """The oldest event, waiting for one."""
        while True:
            ev = self.get_nowait()
            if ev is not None:
                return ev
            await self._flag.wait()

    def pending(self):
        return len(self._q)

    def take_dropped(self):
        """How many events were lost since the last call (a subscriber reports the gap)."""
        n, self.dropped = self.dropped, 0
        return n


class Bus:
    def __init__(self, wall=None, clock=None):
        self.wall = wall  # fn() -> unix seconds or None (the net's TimeSync.now), set by the app
        self.clock = clock or time.ticks_ms
        self._subs = []
        self.published = 0

    def subscribe(self, *prefixes, size=_SIZE):
        """A queue of the events whose topic starts with one of prefixes ("" = all)."""
        s = Sub(prefixes or ("",), size)
        self._subs.append(s)
        return s

    def unsubscribe(self, sub):
        if sub in self._subs:
            self._subs.remove(sub)

    def now(self):
        """Wall-clock unix seconds, or None while the time is not known."""
        w = self.wall
        return w() if w is not None else None

    def publish(self, topic, data=None):
        """Queue an event for every subscriber that wants it; never blocks, never raises
        for a subscriber's sake. Returns the event."""
        ev = Event(topic, data if data is not None else {}, self.clock(), self.now())
        self.published += 1
        for s in self._subs:
            if s.wants(topic):
                s.put(ev)
        return ev
