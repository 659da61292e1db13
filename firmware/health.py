"""The health rule of a new release, and of every boot's config.

A trial (a new app slot on trial, or a new image the bootloader runs PENDING_VERIFY) is
confirmed when the new version reached its back end (or, with no back end configured, the
update server; with neither, nothing to reach) and every supervised task has been alive
for ota.health_s without a crash or a stall. Not met within ota.health_timeout_s: the trial
failed, it is recorded and the chip resets (the boot rolls back after ota.trials failures).
Outside a trial the same rule only keeps the running config as the last good one
(firmware/cfgguard.py), and a late back end is a warning, never a reboot.
"""
import asyncio
import time

import log

_log = log.get("health")


def on_trial():
    """True while a new app slot or image runs on trial."""
    import thisboot
    from firmware import ota

    if thisboot.trial:
        return True
    svc = ota.current()
    return bool(svc is not None and svc.image_trial())


class Health:
    def __init__(self, sup, ota_cfg, reached=None, on_healthy=None, clock=time.ticks_ms, trial=on_trial,
                 confirm=None, fail=None):
        self.sup = sup
        self.need_ms = ota_cfg["health_s"] * 1000
        self.limit_ms = ota_cfg["health_timeout_s"] * 1000
        self.reached = reached  # fn() -> bool, or None when there is nothing to reach
        self.on_healthy = on_healthy
        self.clock = clock
        self.trial = trial
        self._confirm = confirm  # tests; default: firmware.ota.confirm_healthy
        self._fail = fail  # tests; default: record the failure, reset
        self.t0 = clock()
        self.state = "waiting"  # healthy, failed, late

    def met(self):
        ok = self.reached is None or self.reached()
        return ok and self.sup.alive_ms() >= self.need_ms

    def step(self):
        """One look; returns the state. Confirms or fails at most once."""
        if self.state in ("healthy", "failed"):
            return self.state
        if self.met():
            self.state = "healthy"
            self.confirm()
        elif time.ticks_diff(self.clock(), self.t0) >= self.limit_ms and self.state == "waiting":
            why = "health rule not met in %d s (back end %s, tasks alive %d ms)" % (
                self.limit_ms // 1000, "reached" if self.reached is None or self.reached() else "not reached",
                self.sup.alive_ms())
            if self.trial():
                self.state = "failed"
                _log.error("trial failed: %s", why)
                self.fail(why)
            else:
                self.state = "late"
                _log.warn(why)
        return self.state

    def confirm(self):
        if self._confirm is not None:
            self._confirm()
        else:
            from firmware import ota

            ota.confirm_healthy()
        if self.on_healthy is not None:
            try:
                self.on_healthy()
            except Exception as e:  # e.g. a full flash: the confirmation itself stands
                _log.exc("on_healthy failed", e)

    def fail(self, why):
        if self._fail is not None:
            self._fail(why)
            return
        from firmware.board import system

        log.flush()
        system.reset_unhealthy(why)  # counted against the trial, then the reset

    async def run(self, beat):
        while self.step() in ("waiting", "late"):
            beat()
            await asyncio.sleep_ms(1000)
