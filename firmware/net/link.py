"""Link manager: keeps one link to the backend, Wi-Fi first and cellular as the fallback.

A link counts as up only when the backend answers a probe (TCP connect or HTTP HEAD), not on
association alone. The active link is dropped when it loses association, or when the backend
stays unreachable for `failover_ms`; the next link in `order` is tried. While on a fallback,
the preferred link is retried on its backoff and taken back once it stayed up `failback_ms`.
Every attempt waits its link's exponential backoff (with jitter, capped): never a busy loop.
Links are objects with kind, up(), down(), isup(), signal(), hold_ms(), reason (wifi.Wifi,
modem.Modem). Events on the bus (firmware/bus.py): "link.up" {"link": kind, "signal": dBm}
and "link.down" {"link": kind, "reason": why}. Users may report backend traffic with
report(ok), which spares probes (and cellular bytes).
"""
import asyncio
import random
import time

import log
from firmware.net import clock as _clock

_log = log.get("link")


async def tcp_probe(host, port, timeout_ms, http=False):
    """True if host:port accepts a TCP connection (and answers HEAD with HTTP/ if http)."""
    w = None
    try:
        r, w = await asyncio.wait_for_ms(asyncio.open_connection(host, port), timeout_ms)
        if not http:
            return True
        w.write(b"HEAD / HTTP/1.0\r\nHost: %s\r\n\r\n" % host.encode())
        await w.drain()
        line = await asyncio.wait_for_ms(r.readline(), timeout_ms)
        return line[:5] == b"HTTP/"
    except (OSError, asyncio.TimeoutError, ValueError):
        return False
    finally:
        if w is not None:
            try:
                w.close()
                await w.wait_closed()
            except OSError:
                pass


class LinkManager:
    def __init__(self, links, net_cfg, backend_cfg, probe=None, bus=None, budget=None, clock=None):
        # net.order and net.probe are checked with the config (firmware/net/rules.py)
        by_kind = {l.kind: l for l in links}
        self.links = [by_kind[k] for k in net_cfg["order"].split(",") if k in by_kind]
        if not self.links:
            raise ValueError("LinkManager: none of the links %r is in net.order" % list(by_kind))
        self.cfg = net_cfg
        self.clock = clock or _clock  # ticks_ms() + async sleep_ms(): tests pass a virtual one
        self.backend = backend_cfg
        self._probe_fn = probe
        self.bus = bus
        self.budget = budget
        self.state = "down"  # down | connecting | up
        self.active = None
        self.attempts = {l.kind: 0 for l in self.links}
        self.probes = 0
        self.switches = 0
        self._fails = {l.kind: 0 for l in self.links}
        self._next = {l.kind: self.clock.ticks_ms() for l in self.links}
        self._last_ok = 0
        self._last_probe = 0
        self._fail_since = None  # first failed probe/report since the backend last answered
        self._stable_since = None
        self._upev = asyncio.Event()
        self._task = None
        self._lost = None  # kind of the link that just dropped
        self._fb_task = None  # the preferred link's join while on a fallback: never blocks supervision

    # --- public
    @property
    def kind(self):
        return self.active.kind if self.active else None

    def start(self):
        """Run on its own task (tests); the app's supervisor runs run() instead."""
        if self._task is None:
            self._task = asyncio.create_task(self.run())
        return self._task

    async def stop(self):
        """Stop supervising and take every link down (tests, shutdown)."""
        self._cancel_failback()
        t, self._task = self._task, None
        if t is not None:
            t.cancel()
            try:
                await t
            except asyncio.CancelledError:
                pass
        for l in self.links:
            close = getattr(l, "close", None)
            await (close() if close else l.down())
        self.active = None
        self.state = "down"

    def report(self, ok):
        """Backend traffic worked (True) or failed (False) on the active link."""
        if self.active is None:
            return
        if ok:
            self._last_ok = self.clock.ticks_ms()
            self._fail_since = None
        elif self._fail_since is None:
            self._fail_since = self.clock.ticks_ms()  # probes now confirm every probe_fail_ms

    async def wait_up(self):
        await self._upev.wait()
        return self.kind

    def status(self):
        a = self.active
        return {"state": self.state, "kind": self.kind, "signal": a.signal() if a else None,
                "attempts": self.attempts, "switches": self.switches, "probes": self.probes}

    # --- internals
    def _emit(self, topic, kind, detail):
        if self.bus is not None:
            detail["link"] = kind
            self.bus.publish(topic, detail)

    def _backoff(self, link):
        c = self.cfg
        n = self._fails[link.kind] = self._fails[link.kind] + 1
        d = c["backoff_min_ms"] << min(n - 1, 20)
        d = min(d, c["backoff_max_ms"])
        d -= d * c["jitter_pct"] * random.getrandbits(10) // 102400
        d = max(d, link.hold_ms(), 10)
        self._next[link.kind] = time.ticks_add(self.clock.ticks_ms(), d)

    def _due(self, link):
        return time.ticks_diff(self.clock.ticks_ms(), self._next[link.kind]) >= 0

    async def _probe(self, link):
        self.probes += 1
        self._last_probe = self.clock.ticks_ms()
        if self._probe_fn is not None:
            ok = await self._probe_fn(link.kind)
        elif not self.backend["host"]:
            ok = link.isup()  # no backend configured: association judges
        else:
            ok = await tcp_probe(self.backend["host"], self.backend["port"],
                                 self.cfg["probe_timeout_ms"], self.cfg["probe"] == "http")
        if ok:
            self._last_ok = self.clock.ticks_ms()
            self._fail_since = None
        elif self._fail_since is None:
            self._fail_since = self._last_probe
        return ok

    def _set_up(self, link):
        self.active = link
        self.state = "up"
        self._fails[link.kind] = 0
        self._stable_since = None
        self._last_ok = self.clock.ticks_ms()
        self._fail_since = None
        if self.budget is not None:
            self.budget.kind = link.kind
        self._upev.set()
        _log.info("up on %s (%s dBm)", link.kind, link.signal())
        self._emit("link.up", link.kind, {"signal": link.signal()})

    def _cancel_failback(self):
        t, self._fb_task = self._fb_task, None
        if t is not None and not t.done():
            t.cancel()
            self._backoff(self.links[0])  # it had not joined yet: counts as a failed try

    def _set_down(self, link, reason):
        self._cancel_failback()
        self.active = None
        self.state = "down"
        self._upev.clear()
        if self.budget is not None:
            self.budget.kind = None
        _log.warn("%s down: %s", link.kind, reason)
        self._emit("link.down", link.kind, {"reason": reason})

    async def run(self, beat=None):
        """Keep a link up, forever; beat() after each round (one bring-up attempt, or one
        supervision period) tells the app's supervisor it progresses."""
        while True:
            if self.active is None:
                await self._connect_any()
            else:
                await self._supervise()
            if beat is not None:
                beat()

    async def _attempt(self, link):
        """One bring-up + probe; True leaves the link up."""
        self.attempts[link.kind] += 1
        if await link.up():
            if await self._probe(link):
                return True
            link.reason = "unreachable"
        await link.down()
        self._backoff(link)
        return False

    async def _connect_any(self):
        # configured order, except: a link that just dropped goes after the other healthy
        # ones (fail over at once), and links that keep failing go last (a dropped carrier
        # redials at once instead of waiting out a Wi-Fi join timeout)
        f, lost = self._fails, self._lost
        cands = [l for l in self.links if not f[l.kind] and l.kind != lost]
        cands += [l for l in self.links if l.kind == lost and not f[l.kind]]
        cands += [l for l in self.links if f[l.kind]]
        for link in cands:
            if not self._due(link):
                continue
            if link.hold_ms():
                self._next[link.kind] = time.ticks_add(self.clock.ticks_ms(), link.hold_ms())
                continue
            self.state = "connecting"
            if await self._attempt(link):
                self._lost = None
                self._set_up(link)
                return
            _log.info("%s attempt %d failed: %s", link.kind, self.attempts[link.kind], link.reason)
        self.state = "down"
        now = self.clock.ticks_ms()
        wait = min(time.ticks_diff(self._next[l.kind], now) for l in self.links)
        await self.clock.sleep_ms(max(wait, 10))

    async def _supervise(self):
        c = self.cfg
        await self.clock.sleep_ms(c["check_ms"])
        link = self.active
        if not link.isup():
            reason = link.lost_reason() if hasattr(link, "lost_reason") else "lost"
            self._set_down(link, reason)
            await link.down()
            # it worked until now: retry it at once, not as a failing link
            self._next[link.kind] = self.clock.ticks_ms()
            self._lost = link.kind
            return
        now = self.clock.ticks_ms()
        if self._fail_since is None:
            due = time.ticks_diff(now, self._last_ok) >= c["probe_ms"]
        else:
            due = time.ticks_diff(now, self._last_probe) >= c["probe_fail_ms"]
        if due:
            await self._probe(link)
        fs = self._fail_since
        if fs is not None and time.ticks_diff(self.clock.ticks_ms(), fs) >= c["failover_ms"]:
            self._set_down(link, "unreachable")
            await link.down()
            self._backoff(link)  # so the next link in order goes first
            return
        if link is not self.links[0]:
            await self._failback(link)

    async def _failback(self, current):
        pref = self.links[0]
        t = self._fb_task
        if t is not None:
            if not t.done():
                return
            self._fb_task = None
            if not await t:
                await pref.down()
                self._backoff(pref)
                return
        if not pref.isup():
            self._stable_since = None
            if self._due(pref) and not pref.hold_ms():
                self.attempts[pref.kind] += 1
                self._fb_task = asyncio.create_task(pref.up())
            return
        now = self.clock.ticks_ms()
        if self._stable_since is None:
            self._stable_since = now
            return
        if time.ticks_diff(now, self._stable_since) < self.cfg["failback_ms"]:
            return
        if not await self._probe(pref):
            self._stable_since = None
            await pref.down()
            self._backoff(pref)
            return
        self.switches += 1
        self._set_down(current, "failback")
        self._set_up(pref)
        await current.down()
