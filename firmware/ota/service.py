"""The OTA service the app starts: periodic/commanded checks, installs, health confirmation.

Events go up through on_event(kind, detail) where detail = {"reason": ..., "version": ...}:
Downloading, Downloaded, DownloadFailed, SignatureVerified, InvalidSignature, Installing,
Installed, InstallationFailed, RolledBack; for a requested check (request_check with a
request id) also InstallScheduled (waiting for installDateTime or idle ports) and Finished
(the check's result, last). Each is also logged as one line
"OTA <kind> <reason> v=<version>" (the sim demo reads these from the console).
"""
import asyncio
import gc
import time

import log
import slotcheck
import thisboot
from firmware.ota import CHECK_CODE, DOWNLOAD_CODE, FetchError, forget, policy, signed_payload

_log = log.get("ota")
_GC_STEP = 4096  # bytes allocated between collections while an update runs
_SIG_REASONS = ("bad_signature", "unknown_key", "bad_envelope", "no_signature")


def _read_ca(path):
    if not path:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _unix():
    """Unix seconds on either epoch (the ESP32 RTC counts from 2000)."""
    t = time.time()
    return int(t) + (946684800 if time.gmtime(0)[0] == 2000 else 0)


def confirmed_line(version, slot):
    """The one line saying a trial slot (or image partition) was confirmed healthy; bench
    tools (`upile deploy`) wait for exactly this text."""
    _log.info("OTA Confirmed v=%s slot=%s", version or "-", slot or "-")


class Ota:
    def __init__(self, cfg, *, idle=None, on_event=None, net_ok=None, system=None, keyring=None, check=None,
                 on_healthy=None):
        self.cfg = cfg["ota"]
        self.on_healthy = on_healthy  # called once per boot when the health condition is met
        self.phase = "idle"  # idle, checking, downloading, waiting_idle, installing (ota status)
        self.product = cfg["pile"]["product"]
        self.on_event = on_event
        self.net_ok = net_ok
        self.system = system
        self.limits = {"max_envelope": self.cfg["max_envelope"]}
        if self.cfg["max_files"]:
            self.limits["max_files"] = self.cfg["max_files"]
        if keyring is None:
            from firmware.ota import keys

            try:
                keyring, self.limits["threshold"] = keys.load(self.cfg["keys"])
            except keys.KeysError as e:
                _log.error("no trusted release keys: %s", e)
                keyring = {}
        self.keyring = keyring
        from firmware.ota import manifest

        self.limits = manifest.merged(self.limits)  # the module itself is dropped by start()
        self.check = check  # None: the two steps of firmware/ota/manifest.check, see _verify
        self.gate = policy.Gate(idle, self.cfg["window"])
        self.confirmed = False
        self.backend_ok = False
        self.busy = False
        self.last_result = None
        self.last_event = None  # (kind, reason, version) of the last emitted event
        self.net_bytes = 0  # bytes OTA downloaded since boot (otahooks bills the data budget)
        self.server_ok = False  # the update server answered this boot (health rule without a back end)
        self._wake = asyncio.Event()
        self._pushed = None  # (ready, meta, env_hex) of a release a back end pushed (push.py), to install
        self._url = None
        self._rid = None  # request id of a commanded check (OCPP requestId), until it runs
        self.request_id = None  # ...and of the check running now: every event carries it
        self._ropts = None  # a commanded check's options (request_check), until it runs
        self.opts = {}  # ...and of the check running now
        self._tasks = []

    # ---- events ----
    def emit(self, kind, reason="", version=None, **extra):
        _log.info("OTA %s %s v=%s", kind, reason or "-", version or "-")
        self.last_event = (kind, reason, version)
        if self.on_event:
            extra["reason"] = reason
            extra["version"] = version
            extra["request_id"] = self.request_id
            try:
                self.on_event(kind, extra)
            except Exception as e:  # a subscriber's bug must not stop an update
                _log.error("on_event(%s) raised %r", kind, e)

    # ---- start-up ----
    def start(self, spawn=True):
        """Announce what the last boot did, pin a factory slot, start the tasks (the app's
        supervisor runs loop() instead, with spawn=False, and owns health and watchdog)."""
        self._boot_events()
        if thisboot.selected and not thisboot.trial:
            from firmware.ota import factoryslot, manifest

            try:
                err = factoryslot.pin(self.keyring, self.product, self.check or manifest.check, self.limits)
            except Exception as e:  # ManifestError and friends: keep running the factory slot
                err = repr(e)
            factoryslot = manifest = None
            forget("firmware.ota.factoryslot", *CHECK_CODE)
            forget(*DOWNLOAD_CODE)
            if err:
                _log.warn("factory slot not pinned: %s", err)
        forget("bootstate")  # the state's writer: loaded again for the next transition
        if not spawn:
            return self
        try:
            asyncio.get_event_loop().set_exception_handler(self._unhandled)
        except AttributeError:
            pass
        self._tasks.append(asyncio.create_task(self._health()))
        self._tasks.append(asyncio.create_task(self._loop()))
        return self

    def _boot_events(self):
        """Report what the boot decided: a rollback (once), an image the bootloader rolled back."""
        import bootstate

        rb = bootstate.rollback_reported()
        if rb:
            self.emit("RolledBack", rb.get("reason", ""), rb.get("version"), counter=rb.get("counter"))
        img = (thisboot.read_state() or {}).get("image")
        if img and self.system and self.system.running_label() != img.get("label"):
            bootstate.image_rolled_back()
            self.emit("RolledBack", "bootloader rolled the image back", img.get("version"))

    def _unhandled(self, loop, ctx):
        e = ctx.get("exception")
        _log.error("unhandled exception in a task: %r", e)
        if e is not None:
            import sys

            sys.print_exception(e)
        if thisboot.trial or self._image_trial():
            if self.system:
                self.system.reset_unhealthy(repr(e))  # counts against the trial
            else:
                import bootstate

                bootstate.record_failure(repr(e))
                forget("bootstate")

    def image_trial(self):
        """True while a new image runs PENDING_VERIFY (its trial)."""
        return self._image_trial()

    def _image_trial(self):
        img = (thisboot.read_state() or {}).get("image")
        return bool(img and self.system and self.system.running_label() == img.get("label"))

    # ---- health ----
    def backend_reached(self):
        """The protocol layer reached the backend: the default health condition."""
        self.backend_ok = True

    def confirm_healthy(self):
        """The app is healthy: a trial slot or image becomes the installed version."""
        if self.confirmed:
            return False
        self.confirmed = True
        import bootstate

        done = bootstate.confirm()
        st = thisboot.read_state() or {}
        meta = (st.get("slots", {}).get(thisboot.selected) or {}) if done else None
        where = thisboot.selected
        if self._image_trial():
            self.system.mark_image_valid()
            img = bootstate.image_confirmed()
            meta, where = img, img.get("label")
        bootstate = None
        forget("bootstate")
        if self.on_healthy:
            try:
                self.on_healthy()
            except Exception as e:  # e.g. a full flash: the confirmation itself stands
                _log.error("on_healthy raised %r", e)
        if meta:
            confirmed_line(meta.get("version"), where)
            self.emit("Installed", "healthy", meta.get("version"), counter=meta.get("counter"))
        return meta is not None

    async def _health(self):
        t0 = time.ticks_ms()
        limit = self.cfg["health_s"] * 1000
        while True:
            # main.py arms the watchdog on every boot; until the app's supervisor feeds it,
            # this loop does (every second, far inside the state's wdt_ms)
            if self.system and self.system.watchdog_armed():
                self.system.feed_watchdog()
            if not self.confirmed and (self.backend_ok or time.ticks_diff(time.ticks_ms(), t0) >= limit):
                self.confirm_healthy()
            await asyncio.sleep(1)

    # ---- checks ----
    def request_check(self, url=None, request_id=None, opts=None):
        """On command (backend, console): check now, optionally at another release URL;
        the events of that check carry request_id. opts (a back end's update request, e.g.
        OCPP SignedUpdateFirmware): "retries", "backoff_s" replace the config's for this
        check; "signature": (key, base64) is a back end's signature over the envelope,
        checked after the download, before the install (extsig.py; Downloaded says
        signature=ok|bad, a refusal is InvalidSignature); "not_before"
        (unix s): no install earlier; "before_reset" (a coroutine function) runs, for at most
        15 s, between the install and its reset. A request's check always ends with a Finished event
        (reason: its result), so the requester learns the outcome of every path."""
        self._url = url
        self._rid = request_id
        self._ropts = opts
        self._wake.set()

    def loop(self):
        """The periodic/commanded check loop (a coroutine the app's supervisor runs)."""
        return self._loop()

    async def _loop(self):
        first = True
        while True:
            if first:
                # on trial the update server is asked at once: reaching it is the health
                # rule's proof when no back end is configured (firmware/health.py)
                trial = thisboot.trial or self._image_trial()
                delay = 0 if trial else int(policy.rand01() * self.cfg["first_check_s"])
                first = False
            else:
                delay = policy.jittered(self.cfg["check_s"], self.cfg["jitter_s"])
            try:
                await asyncio.wait_for(self._wake.wait(), max(delay, 0.01))
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            if self._pushed is not None:
                ready, meta, env_hex = self._pushed
                self._pushed = None
                self.busy = True
                try:
                    self.last_result = await self._install(ready, meta, env_hex)
                finally:
                    self.busy = False
                    self.phase = "idle"
                continue
            url = self._url or self.cfg["url"]
            self._url = None
            self.request_id, self._rid = self._rid, None
            self.opts, self._ropts = self._ropts or {}, None
            if url:
                self.last_result = await self.run_once(url)
                if self.request_id is not None:
                    self.emit("Finished", self.last_result, None)
            self.opts = {}

    def _http_opts(self):
        return {"timeout": self.cfg["timeout_s"], "allow_http": self.cfg["allow_http"],
                "cadata": _read_ca(self.cfg["ca"])}

    async def run_once(self, url, install=True):
        """One check: download with retries, then install when allowed. Returns a result code."""
        if self.busy:
            return "busy"
        self.busy = True
        self.phase = "checking"
        # an update loads and drops modules and buffers in bursts; collecting after every
        # few KB (not only when the heap is full) keeps it from fragmenting into pieces too
        # small for the next step (tests/host/test_ota_memory.py: ~2 KB more room under load)
        gc_was = gc.threshold()
        gc.threshold(_GC_STEP)
        try:
            opts = self._http_opts()

            def source():  # a Fetcher per phase: fetcher.py is not in the heap during the check
                from firmware.ota import fetcher

                return fetcher.Fetcher(url, http_opts=opts, max_envelope=self.cfg["max_envelope"],
                                       system=self.system)

            attempt = 0
            while True:
                try:
                    try:
                        return await self._attempt(source, install)
                    except MemoryError as e:  # fragmented heap: free what we can, try again later
                        import sys

                        sys.print_exception(e)
                        gc.collect()
                        raise FetchError("no_memory", "heap exhausted during the update")
                except FetchError as e:
                    self.emit("DownloadFailed", e.reason, None, detail=e.detail, attempt=attempt)
                    if not e.transient or attempt >= self.opts.get("retries", self.cfg["retries"]):
                        return e.reason
                    b = self.opts.get("backoff_s")
                    await asyncio.sleep(b if b is not None else
                                        policy.backoff(attempt, self.cfg["backoff_s"], self.cfg["backoff_max_s"]))
                    attempt += 1
        finally:
            gc.threshold(gc_was)
            self.busy = False
            self.phase = "idle"

    def _verify(self, env, st):
        """The checked payload of `env` (ValueError(reason, detail) otherwise). The two steps
        of manifest.check, each alone in the heap: the signature (dsse and the crypto),
        then the payload's fields (manifest.py)."""
        kw = {"product": self.product, "installed_counter": st.get("counter", 0), "now": None}
        try:
            if self.check:
                from firmware.ota import manifest

                kw["now"] = manifest.unix_now()
                return self.check(env, self.keyring, limits=self.limits, **kw)
            payload = signed_payload(env, self.keyring, self.limits)
            forget(*CHECK_CODE)
            from firmware.ota import manifest

            kw["now"] = manifest.unix_now()
            return manifest.check_payload(payload, lim=self.limits, **kw)
        finally:
            forget(*CHECK_CODE)

    def _count(self, f):
        """Add what Fetcher `f` downloaded to net_bytes (each byte once)."""
        self.net_bytes += f.net_bytes
        f.net_bytes = 0

    async def _attempt(self, source, install):
        # one phase at a time in the heap: envelope (fetcher, http), signature check (manifest
        # and crypto), download (fetcher, download, index, http), install (download);
        # source() makes the Fetcher of a phase
        forget(*DOWNLOAD_CODE)
        start = self.net_bytes
        f = source()
        try:
            env = await f.envelope()
            self.server_ok = True
        finally:
            self._count(f)
            f = None
            forget(*DOWNLOAD_CODE)
        extra = self.opts.get("signature")
        if extra is not None:  # a back end's own signature over the envelope (OCPP's): its
            import hashlib  # digest now, its check after the download (see below)

            extra = (hashlib.sha256(env).digest(), extra[0], extra[1])
        env_hex = slotcheck.env_sha(env)
        st = thisboot.read_state()
        if st is None:
            raise FetchError("no_state", "device not provisioned", False)
        if st.get("pending") or thisboot.trial or st.get("image"):
            return "trial_running"
        cur = st.get("slots", {}).get(thisboot.selected or st["active"]) or {}
        if cur.get("env") == env_hex:
            return "up_to_date"
        try:
            payload = self._verify(env, st)
        except ValueError as e:  # ManifestError(reason, detail)
            reason = e.args[0] if e.args else "bad_manifest"
            kind = "InvalidSignature" if reason in _SIG_REASONS else "DownloadFailed"
            self.emit(kind, reason, None, detail=e.args[1] if len(e.args) > 1 else "")
            return reason
        ver = payload.get("version")
        if payload["counter"] in st.get("rolled_back", ()):
            return "rolled_back_before"
        self.emit("SignatureVerified", "ok", ver, counter=payload["counter"])
        kind = payload.get("kind")
        size = payload["image"]["size"] if kind == "image" else payload["bundle"]["size"]
        if self.net_ok:  # data budget (net.budget.allow_update): (True, "ok") | (False, reason)
            ok, why = self.net_ok(kind, size)
            if not ok:  # deferred: the next check (or Wi-Fi coming up) tries again
                self.emit("DownloadFailed", why, ver, size=size, deferred=True)
                return why
        meta = {"counter": payload["counter"], "version": ver}
        # hand the big objects over in boxes so this frame keeps no reference to them
        box, ebox = [payload], [env]
        payload = env = None
        self.emit("Downloading", kind, ver, size=size)
        self.phase = "downloading"
        f = source()
        try:
            if kind == "app":
                ready = await f.download_app(ebox, env_hex, box)
            else:
                ready = await f.download_image(env_hex, box.pop())
        finally:
            self._count(f)
            f = None
            forget(*DOWNLOAD_CODE)
        sig = None
        if extra is not None:
            # checked after the download, not before: rsa/p256 leave names (qstrs) in the heap
            # for good, and before the download that is heap the 64K update does not have
            # (docs/ocpp.md "Part 2: memory"); the whitepaper's order is the same
            from firmware.ota import extsig

            try:
                bad = extsig.check(*extra)
            finally:
                extsig = None
                forget("firmware.ota.extsig", "rsa", "p256")
            gc.collect()
            sig = "bad" if bad else "ok"
        self.emit("Downloaded", kind, ver, bytes=self.net_bytes - start, signature=sig)
        if sig == "bad":
            self.emit("InvalidSignature", bad[0], ver, detail=bad[1])
            return bad[0]
        if not install:
            return "downloaded"
        return await self._install(ready, meta, env_hex)

    # ---- a release pushed in pieces by a back end (firmware/ota/push.py writes it)
    def claim(self):
        """A push begins: no check runs while it does. False when one runs now."""
        if self.busy:
            return False
        self.busy = True
        self.phase = "receiving"
        return True

    def release(self):
        self.busy = False
        self.phase = "idle"

    def adopt(self, ready, meta, env_hex):
        """A pushed release is written and verified: the loop installs it by the usual
        policy (idle ports or the window), then resets."""
        self._pushed = (ready, meta, env_hex)
        self._wake.set()

    async def _install(self, ready, meta, env_hex):
        ver = meta.get("version")
        kind = ready["kind"]
        nb = self.opts.get("not_before")
        if nb is not None and _unix() < nb:  # a back end's installDateTime
            self.phase = "waiting_time"
            self.emit("InstallScheduled", kind, ver, at=nb)
            while _unix() < nb:
                await asyncio.sleep(min(self.cfg["idle_poll_s"], max(1, nb - _unix())))
        if not self.gate.may_install():
            self.phase = "waiting_idle"  # a paying customer's session is never cut short
            _log.info("OTA WaitingIdle ports busy v=%s", ver or "-")
            if self.request_id is not None:  # the requester is told its install waits
                self.emit("InstallScheduled", "ports_busy", ver)
            while not self.gate.may_install():
                await asyncio.sleep(self.cfg["idle_poll_s"])
        self.phase = "installing"
        self.emit("Installing", kind, ver)
        from firmware.ota import installer

        try:
            installer.install(ready, meta, env_hex, self.cfg["trials"], self.cfg["trial_wdt_s"] * 1000)
        except FetchError as e:
            self.emit("InstallationFailed", e.reason, ver, detail=e.detail)
            return e.reason
        hook = self.opts.get("before_reset")
        if hook is not None:  # the requester tells its back end first (OCPP: InstallRebooting)
            try:
                await asyncio.wait_for(hook(), 15)
            except Exception as e:  # noqa: BLE001  a timeout or its bug: the install goes on
                _log.warn("before_reset: %r", e)
        log.flush()
        await asyncio.sleep_ms(50)
        if self.system:
            self.system.reset("install")  # deliberate: never counted against a trial
        return "installed"
