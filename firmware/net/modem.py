"""4G Cat.1 modem driver: AT bring-up to a PPP link, and recovery by PWRKEY power cycle.

Owns the module's life: sync, SIM state, signal, registration, APN, identity, network time,
ATD*99# -> CONNECT, then the UART goes to the board's PPP. Failures end in a named reason
(`self.reason`); causes a power cycle can fix (silence, dial failure) power-cycle the module
before the next attempt; causes it cannot (no SIM, PIN, denied) get `hard_retries` attempts
and then a long hold, so a pile without a SIM never power-cycles its module forever.
The board object (firmware/board/radio.py, or a fake) gives modem_stream(), pwrkey(on), ppp().
"""
import asyncio
import time

import log
from firmware.net.at import At, AtError
from firmware.net import timesync

_log = log.get("modem")

# SIM +CME errors -> reasons; 13/14 right after boot can be a SIM still initialising
_CME_SIM = {10: "sim_absent", 11: "sim_pin", 12: "sim_puk", 13: "sim_failure", 14: "sim_busy", 16: "sim_pin_wrong"}
# reasons a power cycle cannot cure: bounded retries, then a long hold
HARD = ("sim_absent", "sim_pin", "sim_puk", "sim_pin_wrong", "denied", "roaming_not_allowed")
_ICCID_CMDS = (("AT+QCCID", "+QCCID:"), ("AT+CICCID", "+ICCID:"), ("AT+CCID", "+CCID:"), ("AT+ICCID", "+ICCID:"))


class Fail(Exception):
    """args[0]: reason code."""


def csq_dbm(rssi):
    """AT+CSQ rssi (0..31, 99 unknown) -> dBm or None."""
    if rssi < 0 or rssi > 31:
        return None
    return -113 + 2 * rssi


def _fields(line):
    """'+CEREG: 0,1,"x"' -> ['0', '1', 'x']"""
    i = line.find(":")
    return [f.strip().strip('"') for f in line[i + 1:].split(",")]


def reg_state(stat, roaming_ok):
    """3GPP registration stat -> (registered?, name)."""
    if stat == 1:
        return True, "home"
    if stat == 5:
        return roaming_ok, "roaming" if roaming_ok else "roaming_not_allowed"
    return False, {0: "not_searching", 2: "searching", 3: "denied"}.get(stat, "unknown")


def parse_cclk(line):
    """'+CCLK: "26/07/05,12:34:56+32"' -> unix seconds (UTC), or None when the clock is unset."""
    try:
        s = _fields(line)
        d, t = s[0].split("/"), s[1]
        sign = -1 if "-" in t else 1
        hms, zone = t.replace("-", "+").split("+")
        h, mi, sec = hms.split(":")
        yy = int(d[0])
        if yy < 24 or yy >= 70:  # modules report 1980 or 2000 before the network gave the time
            return None
        unix = timesync.unix_from_utc(2000 + yy, int(d[1]), int(d[2]), int(h), int(mi), int(sec))
        return unix - sign * int(zone) * 900
    except (ValueError, IndexError):
        return None


class Modem:
    kind = "cellular"

    def __init__(self, radio, cfg, time_sync=None):
        self.radio = radio
        self.cfg = cfg  # the "modem" config section
        self.time_sync = time_sync
        self.at = None
        self.reason = None
        self.dbm = None
        self.reg = None
        self.imei = self.iccid = self.revision = self.operator = None
        self._iccid_cmd = None
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
        left = time.ticks_diff(self._hold_until, time.ticks_ms())
        if left <= 0:
            self._hold_until = None
            self._hard = 0
            return 0
        return left

    def status(self):
        return {"reason": self.reason, "dbm": self.dbm, "reg": self.reg, "imei": self.imei,
                "iccid": self.iccid, "revision": self.revision, "operator": self.operator,
                "attempts": self.attempts, "failures": self.failures,
                "power_cycles": self.power_cycles, "resets_seen": self.resets_seen,
                "hold_ms": self.hold_ms()}

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
                self._hold_until = time.ticks_add(time.ticks_ms(), self.cfg["hard_backoff_ms"])
                _log.warn("%s after %d tries: holding for %d s", self.reason, self._hard, self.cfg["hard_backoff_ms"] // 1000)
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
            await asyncio.sleep_ms(1000)  # +++ needs a silent guard time either side
            await self.at.write_raw(b"+++")
            await asyncio.sleep_ms(1000)
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
        await asyncio.sleep_ms(ms)
        self.radio.pwrkey(False)

    async def power_cycle(self):
        """Long PWRKEY press (off), wait, short press (on). Counted."""
        self.power_cycles += 1
        _log.warn("power-cycling the modem (%d)", self.power_cycles)
        c = self.cfg
        await self._press(c["pwroff_ms"])
        await asyncio.sleep_ms(c["off_wait_ms"])
        await self._press(c["pwron_ms"])

    # --- bring-up steps
    def _engine(self):
        if self.at is None:
            self.at = At(self.radio.modem_stream(), self.cfg["cmd_timeout_ms"])
            self.at.on("+CEREG:", self._on_reg)
            self.at.on("RDY", self._on_reset)
            self.at.on("*ATREADY", self._on_reset)
        if not self.at.running:
            self.at.start()
        return self.at

    def _on_reg(self, line):
        # URC form "+CEREG: stat[,tac,ci,act]" (the n,stat form only answers AT+CEREG?)
        try:
            self.reg = reg_state(int(_fields(line)[0]), self.cfg["roaming"])[1]
        except ValueError:
            pass

    def _on_reset(self, line):
        self.resets_seen += 1

    async def _sync(self, total_ms):
        """Send AT until it answers: modules drop commands while booting, some autobaud."""
        t0 = time.ticks_ms()
        while True:
            try:
                await self.at.cmd("AT", self.cfg["sync_ms"])
                return True
            except AtError as e:
                if e.code not in ("TIMEOUT", "RESET"):
                    return True  # it answered (ERROR while busy counts as alive)
            if time.ticks_diff(time.ticks_ms(), t0) >= total_ms:
                return False

    async def _bringup(self):
        at = self._engine()
        c = self.cfg
        if not await self._sync(c["sync_ms"] * c["unanswered_max"]):
            # silent: the module may be off (press to switch on) or hung (power-cycle)
            await self._press(c["pwron_ms"])
            if not await self._sync(c["ready_ms"]):
                await self.power_cycle()
                if not await self._sync(c["ready_ms"]):
                    raise Fail("no_answer")
        await at.cmd("ATE0")
        await at.cmd("AT+CMEE=1")
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

    async def _sim(self):
        t0 = time.ticks_ms()
        while True:
            try:
                lines = await self.at.cmd("AT+CPIN?", 5000)
                state = _fields(lines[0])[0] if lines else ""
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
                reason = {"SIM PIN": "sim_pin", "SIM PUK": "sim_puk", "NOT INSERTED": "sim_absent"}.get(state, "sim_failure")
            except AtError as e:
                if e.code != "CME":
                    raise
                reason = _CME_SIM.get(e.n, "sim_failure")
            if reason not in ("sim_failure", "sim_busy") or time.ticks_diff(time.ticks_ms(), t0) > self.cfg["sim_wait_ms"]:
                raise Fail(reason)
            await asyncio.sleep_ms(500)  # still initialising after boot

    async def _identity(self):
        at = self.at
        for cmd, attr in (("AT+CGSN", "imei"), ("AT+CGMR", "revision")):
            try:
                lines = await at.cmd(cmd, prefix="")
                if lines:
                    val = lines[0]
                    if ":" in val:
                        val = val.split(":", 1)[1].strip()
                    setattr(self, attr, val)
            except AtError as e:
                if e.code == "TIMEOUT":
                    raise
        cmds = ((self._iccid_cmd, None),) if self._iccid_cmd else _ICCID_CMDS
        for cmd, _ in cmds:
            try:
                lines = await at.cmd(cmd, prefix="")
            except AtError as e:
                if e.code == "TIMEOUT":
                    raise
                continue  # this vendor does not know that spelling
            for ln in lines:
                val = ln.split(":", 1)[1].strip() if ":" in ln else ln
                if val[:2] == "89" and len(val) >= 18 and val.rstrip("Ff").isdigit():
                    self.iccid, self._iccid_cmd = val, cmd
                    break
            if self.iccid:
                break

    async def _signal(self):
        try:
            lines = await self.at.cmd("AT+CSQ")
            self.dbm = csq_dbm(int(_fields(lines[0])[0])) if lines else None
        except (AtError, ValueError, IndexError):
            self.dbm = None

    async def _reg_stat(self):
        for cmd in ("AT+CEREG?", "AT+CREG?"):
            try:
                lines = await self.at.cmd(cmd)
                return int(_fields(lines[0])[1])
            except AtError as e:
                if e.code == "TIMEOUT":
                    raise
            except (ValueError, IndexError):
                pass
        return 0

    async def _register(self):
        c = self.cfg
        t0 = time.ticks_ms()
        denied = 0
        while True:
            stat = await self._reg_stat()
            ok, self.reg = reg_state(stat, c["roaming"])
            if ok:
                break
            if self.reg == "roaming_not_allowed":
                raise Fail("roaming_not_allowed")
            denied = denied + 1 if stat == 3 else 0
            if denied >= 2:  # denial can flicker once while the network decides
                raise Fail("denied")
            if time.ticks_diff(time.ticks_ms(), t0) >= c["reg_timeout_ms"]:
                raise Fail(self.reg if self.reg != "unknown" else "searching")
            await asyncio.sleep_ms(c["reg_poll_ms"])
        await self._signal()
        try:
            lines = await self.at.cmd("AT+COPS?")
            f = _fields(lines[0]) if lines else []
            self.operator = f[2] if len(f) > 2 else None
        except AtError as e:
            if e.code == "TIMEOUT":
                raise

    async def _clock(self):
        if self.time_sync is None:
            return
        try:
            lines = await self.at.cmd("AT+CCLK?")
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
        t0 = time.ticks_ms()
        while not self._ppp.isconnected():
            if time.ticks_diff(time.ticks_ms(), t0) >= c["ppp_timeout_ms"]:
                raise Fail("ppp_failed")
            await asyncio.sleep_ms(50)
        _log.info("PPP up (%s, %s dBm, %s)", self.operator, self.dbm, self.reg)

    async def _release_ppp(self):
        p, self._ppp = self._ppp, None
        if p is not None:
            p.stop()
            await asyncio.sleep_ms(50)
        if self.at is not None and not self.at.running:
            self.at.start()
