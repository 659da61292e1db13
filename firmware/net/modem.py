"""4G Cat.1 modem driver: AT bring-up to a PPP link, and recovery by PWRKEY power cycle.

Owns the module's life: sync, SIM state, signal, registration, APN, identity, network time,
ATD*99# -> CONNECT, then the UART goes to the board's PPP. Failures end in a named reason
(`self.reason`); causes a power cycle can fix (silence, dial failure) power-cycle the module
before the next attempt; causes it cannot (no SIM, PIN, denied) get `hard_retries` attempts
and then a long hold, so a pile without a SIM never power-cycles its module forever.
The board object (firmware/board/radio.py, or a fake) gives modem_stream(), pwrkey(on), ppp().
"""
import time

import log
from firmware.net import clock as _clock
from firmware.net.at import At, AtError
from firmware.net.atparse import CME_SIM, csq_dbm, fields, iccid, imei, parse_cclk, reg_stat, reg_state, revision  # noqa: F401

_log = log.get("modem")

# reasons a power cycle cannot cure: bounded retries, then a long hold (and an alarm)
HARD = ("sim_absent", "sim_pin", "sim_puk", "sim_pin_wrong", "denied", "roaming_not_allowed",
        "emergency_only", "rlos_only")
_ICCID_CMDS = ("AT+QCCID", "AT+CICCID", "AT+CCID", "AT+ICCID")
_ICCID_PFX = ("+QCCID:", "+ICCID:", "+CCID:", "+CICCID:", "")
_REG_CMDS = ("AT+CEREG?", "AT+CGREG?", "AT+CREG?")  # EPS first: a Cat.1 module's data domain
# PWRKEY and boot timings per module family: (press on, press off, wait off, UART ready) ms.
# Sources in docs/net.md. "auto" is safe for all three: an off press long enough for the
# A76xx, an on press long enough for the Air780, waits as long as the slowest.
PROFILES = {
    "auto": (1500, 3000, 2500, 15000),
    "a76xx": (500, 3000, 2000, 15000),  # SIMCom A7670/A7672/A7600: on >= 50 ms, off >= 2.5 s, UART ~11 s
    "ec200": (600, 1000, 2000, 15000),  # Quectel EC200x/EG91/EG95: on >= 500 ms, off >= 650 ms
    "air780": (1500, 3000, 2000, 15000),  # Luat Air780E/EG: on ~1.2-1.5 s
}
_TIMING_KEYS = ("pwron_ms", "pwroff_ms", "off_wait_ms", "ready_ms")


class Fail(Exception):
    """args[0]: reason code."""


def timings(cfg):
    """{key: ms} for the configured modem.model; an explicit non-zero ms key overrides."""
    prof = PROFILES.get(cfg.get("model", "auto"))
    if prof is None:
        raise ValueError("modem.model: expected one of %s, got %r" % (", ".join(PROFILES), cfg.get("model")))
    return {k: cfg.get(k) or prof[i] for i, k in enumerate(_TIMING_KEYS)}


class Modem:
    kind = "cellular"

    def __init__(self, radio, cfg, time_sync=None, clock=None):
        self.radio = radio
        self.cfg = cfg  # the "modem" config section
        self.t = timings(cfg)  # PWRKEY / boot timings of modem.model (explicit keys win)
        self.time_sync = time_sync
        self.clock = clock or _clock
        self.at = None
        self.reason = None
        self.alarm = None  # a hard cause while holding (no SIM, denied...): for the operator
        self.on_alarm = None  # fn(reason or None): Net publishes alarm.modem on the bus
        self.dbm = None
        self.reg = None
        self.imei = self.iccid = self.revision = self.operator = None
        self._iccid_cmd = None
        self._reg_cmds = _REG_CMDS
        self._ppp = None
        self._cycle_next = False
        self._hard = 0
        self._hold_until = None
        # counters, reported in status()
        self.attempts = 0
        self.failures = 0
        self.power_cycles = 0
        self.resets_seen = 0  # module rebooted by itself (RDY while we did not ask)

    # --- link interface (used by the link manager)
    def isup(self):
        return self._ppp is not None and self._ppp.isconnected()

    def signal(self):
        return self.dbm

    def hold_ms(self):
        """Remaining long hold after a cause a power cycle cannot fix (0 if none)."""
        if self._hold_until is None:
            return 0
        left = time.ticks_diff(self._hold_until, self.clock.ticks_ms())
        if left <= 0:
            self._hold_until = None
            self._hard = 0
            self._set_alarm(None)
            return 0
        return left

    def _set_alarm(self, reason):
        if reason != self.alarm:
            self.alarm = reason
            if self.on_alarm is not None:
                self.on_alarm(reason)

    def status(self):
        at = self.at
        return {"reason": self.reason, "alarm": self.alarm, "dbm": self.dbm, "reg": self.reg,
                "imei": self.imei, "iccid": self.iccid, "revision": self.revision,
                "operator": self.operator, "attempts": self.attempts, "failures": self.failures,
                "power_cycles": self.power_cycles, "resets_seen": self.resets_seen,
                "hold_ms": self.hold_ms(), "at_late": at.late if at else 0,
                "at_resyncs": at.resyncs if at else 0}

    async def up(self):
        """Bring the module to a PPP link; True when up, else False with self.reason set."""
        if self.hold_ms():
            return False
        self.attempts += 1
        try:
            if self._cycle_next:
                self._cycle_next = False
                await self.power_cycle()
            await self._bringup()
            self.reason = None
            self._hard = 0
            return True
        except Fail as e:
            self.reason = e.args[0]
        except AtError as e:
            self.reason = "no_answer" if e.code in ("TIMEOUT", "RESET", "CLOSED") else "at_" + e.code.lower()
        self.failures += 1
        await self._release_ppp()
        if self.reason in HARD:
            self._hard += 1
            if self._hard >= self.cfg["hard_retries"]:
                ms = self.cfg["hard_backoff_ms"]
                self._hold_until = time.ticks_add(self.clock.ticks_ms(), ms)
                self._set_alarm(self.reason)
                _log.error("ALARM %s after %d tries: holding the modem for %d s", self.reason, self._hard, ms // 1000)
        else:
            self._cycle_next = True  # a failed bring-up: fresh module next time
        _log.warn("bring-up failed: %s", self.reason)
        return False

    async def down(self):
        """Leave data mode and hang up; the module stays on for the next attempt."""
        if self._ppp is None:
            return
        await self._release_ppp()
        try:
            await self.at.cmd("AT", 300)
        except AtError:
            # +++ needs a silent guard time of 1 s either side (V.25ter S12; Quectel's PPP note
            # 4.1.1.2): 1.2 s, so a late byte or a slow clock never lands on the edge
            await self.clock.sleep_ms(1200)
            await self.at.write_raw(b"+++")
            await self.clock.sleep_ms(1200)
        try:
            await self.at.cmd("ATH", self.cfg["cmd_timeout_ms"])
        except AtError:
            pass

    async def close(self):
        """Stop everything (tests, shutdown): PPP and the AT reader."""
        await self._release_ppp()
        if self.at is not None:
            self.at.stop()

    # --- power
    async def _press(self, ms):
        self.radio.pwrkey(True)
        await self.clock.sleep_ms(ms)
        self.radio.pwrkey(False)

    async def power_cycle(self):
        """Long PWRKEY press (off), wait, short press (on). Counted."""
        self.power_cycles += 1
        _log.warn("power-cycling the modem (%d)", self.power_cycles)
        t = self.t
        await self._press(t["pwroff_ms"])
        await self.clock.sleep_ms(t["off_wait_ms"])
        if self.at is not None:
            self.at.forget()  # it was off: nothing asked before can still be answered
        await self._press(t["pwron_ms"])

    # --- bring-up steps
    def _engine(self):
        if self.at is None:
            self.at = At(self.radio.modem_stream(), self.cfg["cmd_timeout_ms"], clock=self.clock)
            for p in ("+CEREG:", "+CGREG:", "+CREG:"):
                self.at.on(p, self._on_reg)
            self.at.on("RDY", self._on_reset)
            self.at.on("*ATREADY", self._on_reset)
        if not self.at.running:
            self.at.start()
        return self.at

    def _on_reg(self, line):
        stat = reg_stat(line)  # URC "+CEREG: stat[,...]" or a query answer seen outside one
        if stat is not None:
            self.reg = reg_state(stat, self.cfg["roaming"])[1]

    def _on_reset(self, line):
        self.resets_seen += 1

    async def _sync(self, total_ms):
        """Send AT until it answers: modules drop commands while booting, some autobaud."""
        t0 = self.clock.ticks_ms()
        while True:
            try:
                # a slow module that missed one short probe gets the usual timeout
                await self.at.cmd("AT", self.cfg["sync_ms"] if self.at.synced else None)
                return True
            except AtError as e:
                if e.code not in ("TIMEOUT", "RESET"):
                    return True  # it answered (ERROR while busy counts as alive)
            if time.ticks_diff(self.clock.ticks_ms(), t0) >= total_ms:
                return False

    async def _bringup(self):
        at = self._engine()
        c, t = self.cfg, self.t
        if not await self._sync(c["sync_ms"] * c["unanswered_max"]):
            # silent: the module may be off (press to switch on) or hung (power-cycle)
            await self._press(t["pwron_ms"])
            if not await self._sync(t["ready_ms"]):
                await self.power_cycle()
                if not await self._sync(t["ready_ms"]):
                    raise Fail("no_answer")
        await at.cmd("ATE0")
        await self._cmee()
        await self._sim()
        await self._identity()
        await self._signal()
        if c["apn"]:
            try:
                await at.cmd('AT+CGDCONT=1,"IP","%s"' % c["apn"])
            except AtError as e:
                if e.code == "TIMEOUT":
                    raise
                raise Fail("apn_rejected")
        await self._register()
        await self._clock()
        await self._dial()

    async def _cmee(self):
        # numeric +CME codes (short, language-free); a module that refuses 1 gets 2, whose
        # texts the engine maps to the same numbers. Without either, SIM errors are plain ERROR.
        for mode in ("AT+CMEE=1", "AT+CMEE=2"):
            try:
                await self.at.cmd(mode)
                return
            except AtError as e:
                if e.code == "TIMEOUT":
                    raise

    async def _sim(self):
        t0 = self.clock.ticks_ms()
        while True:
            try:
                lines = await self.at.cmd("AT+CPIN?", 5000)
                state = fields(lines[0])[0] if lines else ""
                if state == "READY":
                    return
                if state == "SIM PIN" and self.cfg["pin"]:
                    try:
                        await self.at.cmd('AT+CPIN="%s"' % self.cfg["pin"], 5000)
                    except AtError as e:
                        if e.code == "TIMEOUT":
                            raise
                        raise Fail("sim_pin_wrong")
                    continue
                reason = {"SIM PIN": "sim_pin", "SIM PUK": "sim_puk", "NOT INSERTED": "sim_absent",
                          "NOT READY": "sim_busy"}.get(state, "sim_failure")
            except AtError as e:
                if e.code != "CME":
                    raise
                reason = CME_SIM.get(e.n, "sim_failure")
            if reason not in ("sim_failure", "sim_busy") or time.ticks_diff(self.clock.ticks_ms(), t0) > self.cfg["sim_wait_ms"]:
                raise Fail(reason)
            await self.clock.sleep_ms(500)  # still initialising after boot

    async def _ask(self, cmd, prefix):
        """Answer lines of an identity query; [] when this module does not know it or is
        slow to say (identity is for reports: a silent module fails at the next step)."""
        for _ in range(2):  # one more try after a timeout (it resyncs first)
            try:
                return await self.at.cmd(cmd, prefix=prefix)
            except AtError as e:
                if e.code in ("RESET", "CLOSED"):
                    raise
                if e.code != "TIMEOUT":
                    break
        return []

    async def _identity(self):
        # each answer is recognised by its shape, never taken as "the first line"
        v = imei(await self._ask("AT+CGSN", ("+CGSN:", "")))
        if v:
            self.imei = v
        v = revision(await self._ask("AT+CGMR", ("+CGMR:", "")))
        if v:
            self.revision = v
        for cmd in (self._iccid_cmd,) if self._iccid_cmd else _ICCID_CMDS:
            v = iccid(await self._ask(cmd, _ICCID_PFX))
            if v:
                self.iccid, self._iccid_cmd = v, cmd
                break

    async def _signal(self):
        try:
            lines = await self.at.cmd("AT+CSQ", prefix="+CSQ:")
            self.dbm = csq_dbm(int(fields(lines[0])[0])) if lines else None
        except (AtError, ValueError, IndexError):
            self.dbm = None

    async def _reg_stat(self):
        """Best registration over EPS, GPRS and CS (a module may only update one of them);
        commands this module refuses are not asked again. None if none answered."""
        first = None
        for cmd in self._reg_cmds:
            try:
                lines = await self.at.cmd(cmd, prefix=cmd[2:-1] + ":")
            except AtError as e:
                if e.code == "TIMEOUT":
                    raise
                self._reg_cmds = tuple(x for x in self._reg_cmds if x != cmd) or _REG_CMDS
                continue
            stat = None
            for ln in lines:  # the query form; a URC form that slipped in says the same
                s = reg_stat(ln)
                if s is not None:
                    stat = s
            if stat is None:
                continue
            if reg_state(stat, self.cfg["roaming"])[0]:
                return stat
            if first is None:
                first = stat
        return first

    async def _register(self):
        c = self.cfg
        t0 = self.clock.ticks_ms()
        denied = 0
        while True:
            stat = await self._reg_stat()
            ok, self.reg, _ = reg_state(stat if stat is not None else 4, c["roaming"])
            if ok:
                break
            if self.reg == "roaming_not_allowed":
                raise Fail("roaming_not_allowed")
            denied = denied + 1 if stat == 3 else 0
            if denied >= 2:  # denial can flicker once while the network decides
                raise Fail("denied")
            # emergency-only / RLOS-only may be a passing limited service: they wait like
            # searching, and end as their own (hard) reason at the timeout
            if time.ticks_diff(self.clock.ticks_ms(), t0) >= c["reg_timeout_ms"]:
                raise Fail(self.reg if self.reg != "unknown" else "searching")
            await self.clock.sleep_ms(c["reg_poll_ms"])
        await self._signal()
        try:
            lines = await self.at.cmd("AT+COPS?", prefix="+COPS:")
            f = fields(lines[0]) if lines else []
            self.operator = f[2] if len(f) > 2 else None
        except AtError as e:
            if e.code == "TIMEOUT":
                raise

    async def _clock(self):
        if self.time_sync is None:
            return
        try:
            lines = await self.at.cmd("AT+CCLK?", prefix="+CCLK:")
        except AtError as e:
            if e.code == "TIMEOUT":
                raise
            return
        unix = parse_cclk(lines[0]) if lines else None
        if unix is not None:
            self.time_sync.set("modem", unix)

    async def _dial(self):
        c = self.cfg
        try:
            await self.at.cmd("ATD*99#", c["dial_timeout_ms"])
        except AtError as e:
            if e.code == "TIMEOUT":
                raise
            raise Fail("dial_failed")
        self.at.stop()  # the UART is PPP's now
        self._ppp = self.radio.ppp()
        self._ppp.start(c["ppp_user"], c["ppp_key"])
        t0 = self.clock.ticks_ms()
        while not self._ppp.isconnected():
            if time.ticks_diff(self.clock.ticks_ms(), t0) >= c["ppp_timeout_ms"]:
                raise Fail("ppp_failed")
            await self.clock.sleep_ms(50)
        _log.info("PPP up (%s, %s dBm, %s)", self.operator, self.dbm, self.reg)

    async def _release_ppp(self):
        p, self._ppp = self._ppp, None
        if p is not None:
            p.stop()
            await self.clock.sleep_ms(50)
        if self.at is not None and not self.at.running:
            self.at.start()
