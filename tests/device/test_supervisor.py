# heapsize: 96K
# The app's supervisor: crashes logged with their traceback and restarted with backoff, a
# crash loop ends in the safe state and a reboot, the watchdog is fed only while every task
# with a duty progresses; and the trial health rule built on it (firmware/health.py).
import asyncio
import os

import log
from firmware.health import Health
from firmware.supervisor import Supervisor


class Clock:
    def __init__(self):
        self.t = 1000

    def __call__(self):
        return self.t


def ring():
    d = os.getenv("UPILE_TMP") + "/log%d" % Clock().t
    log.enable_ring(d, 8192)
    return d


def read_log(d):
    log.flush()
    with open(d + "/log.0") as f:
        return f.read()


async def spin(n=30):
    for _ in range(n):
        await asyncio.sleep_ms(1)


def test_crash_is_logged_with_traceback_and_restarted():
    d = ring()
    runs = []

    async def flaky(beat):
        runs.append(1)
        if len(runs) < 3:
            raise ValueError("bad reading %d" % len(runs))
        while True:
            beat()
            await asyncio.sleep_ms(1)

    async def main():
        sup = Supervisor(backoff_ms=2, max_crashes=5)
        t = sup.add("flaky", flaky)
        sup.start()
        await spin(40)
        assert len(runs) == 3 and t.crashes == 2 and t.state == "running"
        assert sup.gave_up is None

    asyncio.run(main())
    text = read_log(d)
    assert "task flaky crashed (1): ValueError('bad reading 1',)" in text or "bad reading 1" in text
    assert "| Traceback" in text and "in flaky" in text  # the traceback itself is in the log


def test_crash_loop_goes_safe_then_reboots_with_the_reason():
    ring()
    calls = []

    async def boom(beat):
        raise OSError(5)

    async def main():
        sup = Supervisor(backoff_ms=1, max_crashes=3, window_ms=60000,
                         safe=lambda why: calls.append(("safe", why)), reboot=lambda why: calls.append(("reboot", why)))
        t = sup.add("proto", boom)
        sup.start()
        await spin(40)
        assert t.state == "failed" and t.crashes == 3
        assert sup.alive_ms() == 0

    asyncio.run(main())
    assert [c[0] for c in calls] == ["safe", "reboot"]  # relays off before the restart
    assert "3 crashes" in calls[0][1] and "proto" in calls[0][1]


def test_watchdog_fed_only_while_duties_progress():
    ring()
    clock = Clock()
    fed = []
    beats = [None]

    async def loop(beat):
        beats[0] = beat
        while True:
            await asyncio.sleep_ms(1)

    async def idle(beat):
        while True:
            await asyncio.sleep_ms(1)

    async def main():
        sup = Supervisor(clock=clock, feed=lambda: fed.append(clock.t))
        sup.add("charging", loop, deadline_ms=5000)
        sup.add("idle-port", idle)  # no duty: never stalls
        sup.start()
        await spin(3)  # the watcher's first round fed once (its next is 1 s away)
        n = len(fed)
        assert n >= 1 and sup.check() == [] and len(fed) == n + 1
        clock.t += 4000
        beats[0]()
        assert sup.check() == [] and len(fed) == n + 2
        clock.t += 6000  # no beat for 6 s: the charging loop hangs
        bad = sup.check()
        assert [t.name for t in bad] == ["charging"] and len(fed) == n + 2  # the dog will bite
        assert sup.alive_ms() == 0
        beats[0]()
        assert sup.check() == [] and len(fed) == n + 3
        clock.t += 500
        assert sup.alive_ms() == 500, sup.alive_ms()  # alive counts from the stall's end

    asyncio.run(main())


def test_unsupervised_task_crash_is_counted():
    ring()

    async def main():
        sup = Supervisor(backoff_ms=1, max_crashes=2, reboot=lambda why: None)
        sup.start()

        async def stray():
            raise KeyError("x")

        asyncio.create_task(stray())
        await spin(5)
        assert sup._recent and sup.alive_ms() >= 0

    asyncio.run(main())


class FakeSup:
    def __init__(self):
        self.alive = 0

    def alive_ms(self):
        return self.alive


def test_health_confirms_when_reached_and_alive_for_its_time():
    clock = Clock()
    sup = FakeSup()
    reached = [False]
    got = []
    h = Health(sup, {"health_s": 60, "health_timeout_s": 600}, lambda: reached[0], on_healthy=lambda: got.append("cfg"),
               clock=clock, trial=lambda: True, confirm=lambda: got.append("confirm"), fail=got.append)
    sup.alive = 120000
    assert h.step() == "waiting"  # tasks fine, but the back end was never reached
    reached[0] = True
    sup.alive = 59000
    assert h.step() == "waiting"  # reached, but a task crashed 59 s ago
    sup.alive = 60000
    assert h.step() == "healthy" and got == ["confirm", "cfg"]
    assert h.step() == "healthy" and len(got) == 2  # once


def test_health_not_met_fails_a_trial_but_only_warns_otherwise():
    clock = Clock()
    sup = FakeSup()
    failed = []
    h = Health(sup, {"health_s": 60, "health_timeout_s": 600}, lambda: False, clock=clock, trial=lambda: True,
               confirm=lambda: None, fail=failed.append)
    sup.alive = 10 ** 6
    clock.t += 599000
    assert h.step() == "waiting" and not failed
    clock.t += 1000
    assert h.step() == "failed" and "not reached" in failed[0]
    # a confirmed release whose back end is late is never rebooted
    got = []
    h = Health(sup, {"health_s": 60, "health_timeout_s": 600}, lambda: bool(got), clock=clock, trial=lambda: False,
               confirm=lambda: got.append("confirm"), fail=failed.append)
    clock.t += 600000
    assert h.step() == "late" and len(failed) == 1
    got.append("x")  # the back end answers at last
    assert h.step() == "healthy"


def test_nothing_to_reach_means_alive_alone():
    clock = Clock()
    sup = FakeSup()
    ok = []
    h = Health(sup, {"health_s": 3, "health_timeout_s": 600}, None, clock=clock, trial=lambda: True,
               confirm=lambda: ok.append(1), fail=ok.append)
    sup.alive = 3000
    assert h.step() == "healthy" and ok == [1]
