"""The app's supervisor: nothing dies silently.

It starts every long-running task (charging control, link manager, OTA, each protocol, the
maintenance port) and watches them:
- a task that raises is logged with its traceback in the persistent log (`upile logs`) and
  restarted after a backoff that doubles per crash;
- after `max_crashes` crashes within `window_ms` (of any task) the pile goes to a safe state
  (the `safe` hook: every relay off, sessions closed with a reason) and reboots (`reboot`);
- a task with a duty (`deadline_ms`) calls its beat() as it makes progress; the hardware
  watchdog is fed only while every such task beat within its deadline, so a hung task (or
  a hung event loop) ends in a watchdog reset;
- alive_ms() says how long every task has been up without a crash or a stall: the trial
  boot's health rule (firmware/health.py) asks it.
"""
import asyncio
import time

from micropython import const

import log

_log = log.get("super")
_PERIOD_MS = const(1000)


class Task:
    __slots__ = ("name", "factory", "deadline_ms", "last", "crashes", "task", "state", "stalled")

    def __init__(self, name, factory, deadline_ms, now):
        self.name = name
        self.factory = factory  # fn(beat) -> coroutine (one run of the task)
        self.deadline_ms = deadline_ms  # None: no duty, only crashes are watched
        self.last = now  # ticks of the last beat
        self.crashes = 0
        self.task = None
        self.state = "new"  # running, backoff, done, failed
        self.stalled = False


class Supervisor:
    def __init__(self, clock=time.ticks_ms, feed=None, safe=None, reboot=None, max_crashes=5, window_ms=600000,
                 backoff_ms=1000, backoff_max_ms=60000):
        self.clock = clock
        self.feed = feed  # fn(): feed the hardware watchdog
        self.safe = safe  # fn(reason): relays off, sessions closed
        self.reboot = reboot  # fn(reason): restart the chip (counted against a trial)
        self.max_crashes = max_crashes
        self.window_ms = window_ms
        self.backoff_ms = backoff_ms
        self.backoff_max_ms = backoff_max_ms
        self.tasks = []
        self._recent = []  # ticks of crashes within the window
        self._bad_since = None  # ticks of the last crash or stall (None: never)
        self.t0 = clock()
        self._watch = None
        self.gave_up = None  # reason, once the safe state was entered

    def add(self, name, factory, deadline_ms=None):
        """Supervise `factory(beat)`; started by start() (or at once when already running)."""
        t = Task(name, factory, deadline_ms, self.clock())
        self.tasks.append(t)
        if self._watch is not None:
            self._spawn(t)
        return t

    def start(self):
        try:
            asyncio.get_event_loop().set_exception_handler(self._unhandled)
        except AttributeError:
            pass
        for t in self.tasks:
            self._spawn(t)
        self._watch = asyncio.create_task(self._watcher())
        return self

    def _spawn(self, t):
        t.task = asyncio.create_task(self._run(t))

    async def _run(self, t):
        delay = self.backoff_ms

        def beat():
            t.last = self.clock()

        while True:
            t.state = "running"
            t.last = t0 = self.clock()
            try:
                await t.factory(beat)
                t.state = "done"  # a task that returns has finished its work
                _log.info("task %s finished", t.name)
                return
            except asyncio.CancelledError:
                t.state = "done"
                raise
            except Exception as e:
                t.crashes += 1
                _log.exc("task %s crashed (%d)" % (t.name, t.crashes), e)
                if self._crashed(t.name):
                    t.state = "failed"
                    return
            if time.ticks_diff(self.clock(), t0) > self.backoff_max_ms:
                delay = self.backoff_ms  # it ran well for a while: a fresh start
            t.state = "backoff"
            await asyncio.sleep_ms(delay)
            delay = min(delay * 2, self.backoff_max_ms)

    def _crashed(self, name):
        """Count a crash; True when the pile gave up (safe state and reboot)."""
        now = self.clock()
        self._bad_since = now
        self._recent = [c for c in self._recent if time.ticks_diff(now, c) < self.window_ms]
        self._recent.append(now)
        if len(self._recent) >= self.max_crashes:
            self.give_up("%d crashes in %d s (last: %s)" % (len(self._recent), self.window_ms // 1000, name))
            return True
        return False

    def _unhandled(self, loop, ctx):
        """A task started outside the supervisor raised: logged and counted like a crash."""
        e = ctx.get("exception")
        if e is None:
            _log.error("event loop: %s", ctx.get("message"))
            return
        _log.exc("unsupervised task crashed", e)
        self._crashed("unsupervised")

    def give_up(self, reason):
        """Safe state, then reboot: relays off and sessions closed before anything else."""
        if self.gave_up is not None:
            return
        self.gave_up = reason
        _log.error("SAFE STATE: %s", reason)
        if self.safe is not None:
            try:
                self.safe(reason)
            except Exception as e:  # the relays were opened first by the hook; keep going
                _log.exc("safe state hook failed", e)
        log.flush()
        if self.reboot is not None:
            self.reboot(reason)

    def stalled(self):
        """Tasks whose duty is overdue (no beat within deadline_ms)."""
        now = self.clock()
        out = []
        for t in self.tasks:
            if t.deadline_ms is not None and t.state in ("running", "backoff") \
                    and time.ticks_diff(now, t.last) > t.deadline_ms:
                out.append(t)
        return out

    def alive_ms(self):
        """How long every task has run without a crash, a stall or a task given up."""
        now = self.clock()
        for t in self.tasks:
            if t.state == "failed":
                return 0
        since = self.t0 if self._bad_since is None else self._bad_since
        return time.ticks_diff(now, since)

    def check(self):
        """One watch round: feed the watchdog if every duty is on time. Returns the stalled."""
        bad = self.stalled()
        for t in bad:
            if not t.stalled:
                t.stalled = True
                _log.error("task %s stalled: no progress for %d ms; the watchdog is no longer fed",
                           t.name, time.ticks_diff(self.clock(), t.last))
                log.flush()
        for t in self.tasks:
            if t.stalled and t not in bad:
                t.stalled = False
                _log.warn("task %s progresses again", t.name)
        if bad:
            self._bad_since = self.clock()
        elif self.feed is not None and self.gave_up is None:
            self.feed()
        return bad

    async def _watcher(self):
        while True:
            self.check()
            await asyncio.sleep_ms(_PERIOD_MS)

    def status(self):
        return {t.name: {"state": t.state, "crashes": t.crashes, "stalled": t.stalled} for t in self.tasks}
