"""Scripted 4G Cat.1 module (Quectel EC200 / SIMCom A7670 / Luat Air780E flavours) speaking AT.

Portable Python (CPython and MicroPython): the sim board's modem Peer (peers/modem.py) wraps
it, and device tests drive the same object in-process. Peer-shaped: on_rx(bytes) takes what
the chip wrote, poll(now) returns what the module sends, on_pin()/on_power() model PWRKEY and
supply. Faults are attributes/methods: sim, reg (a name or a TS 27.007 stat 0..11),
search_s, delay_s, slow (per-command delays), drop_busy, urcs_mid (unsolicited lines landing
inside every answer), garbage_s, cmee_modes, silent(), drop_carrier(), inject(). Time is
whatever `now` poll() was given (seconds, float).

PWRKEY per vendor (docs/net.md cites the manuals): Quectel EC200x on >= 0.5 s, off >= 0.65 s;
SIMCom A76xx on >= 0.05 s, off >= 2.5 s (a shorter press of a running module does nothing);
Luat Air780 on >= 1.2 s, off >= 2.5 s (our inference from public drivers). Presses while
booting are ignored. A module runs one command at a time: answers leave in command order.
"""

VENDORS = {
    "quectel": {
        "boot": ("RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"),
        "iccid": ("AT+QCCID", "+QCCID: "), "rev": "EC200UCNAAR03A05M08",
        "model": "EC200U", "manuf": "Quectel", "powd": ("AT+QPOWD", "POWERED DOWN"),
        "press": (0.5, 0.65),
    },
    "simcom": {
        "boot": ("*ATREADY: 1", "+CPIN: READY", "SMS DONE", "PB DONE"),
        "iccid": ("AT+CICCID", "+ICCID: "), "rev": "A7670E-LASE_V1.11",
        "model": "A7670E", "manuf": "SIMCOM INCORPORATED", "powd": ("AT+CPOWD", "NORMAL POWER DOWN"),
        "press": (0.05, 2.5),
    },
    "luat": {
        "boot": ("RDY", "+CPIN: READY", "+E_UTRAN Service", "+CGEV: ME PDN ACT 1"),
        "iccid": ("AT+CCID", ""), "rev": "AirM2M_780E_V1150_LTE_AT",
        "model": "Air780E", "manuf": "AirM2M", "powd": ("AT+CPOWD", "NORMAL POWER DOWN"),
        "press": (1.2, 2.5),
    },
}
_STAT = {"idle": 0, "home": 1, "searching": 2, "denied": 3, "unknown": 4, "roaming": 5}
_REGISTERED = (1, 5, 6, 7, 9, 10)  # stats with a data (EPS/PS) registration
# TS 27.007 §9.2.1 texts that AT+CMEE=2 prints (the codes this emulator can raise)
_CME_TEXT = {3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted",
             11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure", 14: "SIM busy",
             16: "incorrect password", 30: "no network service", 50: "incorrect parameters",
             100: "unknown"}
_CPIN = {"ready": "READY", "pin": "SIM PIN", "puk": "SIM PUK"}


class AtModem:
    def __init__(self, vendor="quectel", sim="ready", pin="1234", reg="home", search_s=0.0,
                 csq=20, ready_s=0.3, delay_s=0.0, garbage_s=0.0, auto_on=True, pwrkey_pin=None,
                 pwrkey_active=1, on_press_s=None, off_press_s=None, boot_seed=None,
                 imei="861234567890123", iccid="89860012345678901234", operator="CHINA MOBILE",
                 clock=True, tz_q=32, dial_ok=True, cclk_year4=False, cgsn_prefix=False,
                 slow=None, drop_busy=False, urcs_mid=(), cmee_modes=(0, 1, 2)):
        v = VENDORS[vendor]
        self.vendor = v
        self.sim, self.pin, self.reg, self.search_s = sim, pin, reg, search_s
        self.csq, self.ready_s, self.delay_s, self.garbage_s = csq, ready_s, delay_s, garbage_s
        self.auto_on, self.pwrkey_pin, self.pwrkey_active = auto_on, pwrkey_pin, pwrkey_active
        on_press_s = v["press"][0] if on_press_s is None else on_press_s
        off_press_s = v["press"][1] if off_press_s is None else off_press_s
        self.on_press_s, self.off_press_s, self.boot_seed = on_press_s, off_press_s, boot_seed
        self.cclk_year4, self.cgsn_prefix = cclk_year4, cgsn_prefix
        self.slow = dict(slow or {})  # command (upper case) -> seconds before its answer
        self.drop_busy = drop_busy  # commands arriving while an answer is pending are lost
        self.urcs_mid = tuple(urcs_mid)
        self.cmee_modes = tuple(cmee_modes)
        self.dropped = 0  # commands lost to drop_busy
        self.imei, self.iccid, self.operator = imei, iccid, operator
        self.clock, self.tz_q, self.dial_ok = clock, tz_q, dial_ok
        self.on_link = None  # fn(up: bool): the data (PPP) link came up / went down
        self.now = 0.0
        self.power = "off"  # off | booting | on
        self.boots = 0
        self.commands = []  # every command line received while on (tests read it)
        self.data_rx = 0  # bytes received in data mode
        self._out = []  # [due, bytes]
        self._rx = bytearray()
        self._press_at = None
        self._silent = False
        self._garbage_at = 0.0
        self._seed = 1
        self._booted = 0.0
        self._ready_at = 0.0
        self._off()

    # --- Peer protocol
    def attach(self, board, uart_id):
        pass

    def on_open(self, baudrate, bits, parity, stop):
        pass

    def on_power(self, on):
        if on and self.auto_on:
            self._boot()
        elif not on:
            self._off()

    def on_pin(self, pin, level):
        if pin != self.pwrkey_pin:
            return
        if level == self.pwrkey_active:
            self._press_at = self.now
            return
        if self._press_at is None:
            return
        held = self.now - self._press_at
        self._press_at = None
        if self.power == "off" and held >= self.on_press_s:
            self._boot()
        elif self.power == "on" and held >= self.off_press_s:
            self._send_line(self.vendor["powd"][1], 0.0)
            self._off(keep_out=True)
        # presses while booting are ignored

    def poll(self, now):
        self.now = now
        if self.power == "booting" and now >= self._ready_at:
            self.power = "on"
        if self.power == "on" and self.garbage_s and now >= self._garbage_at:
            self._garbage_at = now + self.garbage_s
            self.inject(bytes(self._rand(256) | 0x80 for _ in range(5)) + b"\x00")
        if not self._out or self._out[0][0] > now:
            return None
        chunks = []
        while self._out and self._out[0][0] <= now:
            chunks.append(self._out.pop(0)[1])
        return b"".join(chunks)

    def on_rx(self, data):
        if self.power != "on" or self._silent:
            return
        if self.data:
            self.data_rx += len(data)
            # +++ escape: three '+' in a row, however the UART hands them over (a module's RX
            # interrupt may see one byte at a time; the sim's wire splits writes anywhere)
            for c in data:
                self._plus = self._plus + 1 if c == 0x2B else 0
                if self._plus == 3:  # guard times not modelled; the rest of this burst is dropped
                    self._plus = 0
                    self.data = False
                    self._link(False)
                    self._send_line("OK", 1.0)
                    return
            return
        self._rx += data
        while True:
            i = self._rx.find(b"\r")
            if i < 0:
                if len(self._rx) > 1024:
                    self._rx = bytearray()
                return
            line = "".join(chr(c) if 32 <= c < 127 else "?" for c in self._rx[:i]).strip()
            self._rx = self._rx[i + 1:]
            if self.echo:
                self._queue(line.encode() + b"\r", 0.0)
            if line:
                if self.drop_busy and self.now < self._busy_until:
                    self.dropped += 1  # still executing the previous command: input lost
                    continue
                self.commands.append(line)
                if len(self.commands) > 400:
                    del self.commands[:200]
                self._cmd = line.upper()
                self._command(line)

    # --- faults and scripting
    def silent(self):
        """Stop answering (firmware hang, data link dead too); a PWRKEY power cycle cures it."""
        self._silent = True
        if self.data:
            self.data = False
            self._link(False)

    def drop_carrier(self):
        if self.data:
            self.data = False
            self._link(False)
            self._send_line("NO CARRIER", 0.0)

    def inject(self, raw):
        self._queue(raw, 0.0)

    def urc(self, line):
        self._send_line(line, 0.0)

    # --- internals
    def _rand(self, n):
        self._seed = (self._seed * 1103515245 + 12345) & 0x7FFFFFFF
        return (self._seed >> 8) % n

    def _off(self, keep_out=False):
        if getattr(self, "data", False):
            self._link(False)
        self.power = "off"
        self.echo = True
        self.cmee = 0
        self.cereg_n = 0
        self.data = False
        self._plus = 0  # consecutive '+' received in data mode
        self.apn = None
        self.pin_ok = False
        self.s8 = 2  # V.250 S8 (comma dial pause) default
        self._busy_until = 0.0
        self._cmd = ""
        self._silent = False
        self._rx = bytearray()
        if not keep_out:
            self._out = []

    def _boot(self):
        self._off()
        self.boots += 1
        self.power = "booting"
        self._booted = self.now
        self._ready_at = self.now + self.ready_s
        urcs = list(self.vendor["boot"])
        if self.sim != "ready":
            urcs = [u if not u.startswith("+CPIN") else "+CPIN: " + self._cpin_word() for u in urcs]
        if self.boot_seed is not None:  # modules do not keep a fixed order
            self._seed = self.boot_seed + self.boots
            for i in range(len(urcs) - 1, 0, -1):
                j = self._rand(i + 1)
                urcs[i], urcs[j] = urcs[j], urcs[i]
        for k, u in enumerate(urcs):
            self._out.append([self._ready_at + 0.01 * k, ("\r\n%s\r\n" % u).encode()])

    def _cpin_word(self):
        return {"absent": "NOT INSERTED", "pin": "SIM PIN", "puk": "SIM PUK"}.get(self.sim, "READY")

    def _link(self, up):
        if self.on_link:
            self.on_link(up)

    def _queue(self, raw, delay):
        due = self.now + delay
        if self._out and self._out[-1][0] > due:
            due = self._out[-1][0]
        self._out.append([due, raw])

    def _send_line(self, line, delay):
        self._queue(("\r\n%s\r\n" % line).encode(), delay)

    def _answer(self, lines, final="OK"):
        lines = list(lines)
        if self.urcs_mid:  # unsolicited lines land inside the answer, after its first line
            lines[1:1] = self.urcs_mid
        body = "".join("\r\n%s\r\n" % x for x in lines) + "\r\n%s\r\n" % final
        delay = self.delay_s + self.slow.get(self._cmd, 0.0)
        self._queue(body.encode(), delay)
        self._busy_until = max(self._busy_until, self.now + delay)

    def _error(self, n):
        if self.cmee == 1:
            self._answer([], "+CME ERROR: %d" % n)
        elif self.cmee == 2:
            self._answer([], "+CME ERROR: %s" % _CME_TEXT.get(n, "unknown"))
        else:
            self._answer([], "ERROR")

    def _sim_ready(self):
        return self.sim == "ready" or (self.sim == "pin" and self.pin_ok)

    def stat(self):
        if not self._sim_ready():
            return 0
        if self.reg == "searching" or self.now - self._booted < self.search_s:
            return 2
        return self.reg if isinstance(self.reg, int) else _STAT[self.reg]

    def registered(self):
        return self.stat() in _REGISTERED

    def _cclk(self):
        import time

        if not self.clock:
            return "00/01/01,00:00:%02d+00" % int(min(59, self.now - self._booted))
        t = time.gmtime(int(time.time()) + self.tz_q * 900)
        year = t[0] if self.cclk_year4 else t[0] % 100
        return "%02d/%02d/%02d,%02d:%02d:%02d%+03d" % (year, t[1], t[2], t[3], t[4], t[5], self.tz_q)

    def _command(self, line):
        u = line.upper()
        v = self.vendor
        if u == "AT":
            return self._answer([])
        if u in ("ATE0", "ATE1"):
            self.echo = u == "ATE1"
            return self._answer([])
        if u.startswith("AT+CMEE="):
            mode = int(u[8:] or 0)
            if mode not in self.cmee_modes:
                return self._error(50)
            self.cmee = mode
            return self._answer([])
        if u.startswith("ATS8=") and u[5:].isdigit() and int(u[5:]) <= 255:
            self.s8 = int(u[5:])
            return self._answer([])
        if u == "ATS8?":
            return self._answer(["%03d" % self.s8])
        if u == "AT+CPIN?":
            if self.sim == "absent":
                return self._error(10)
            return self._answer(["+CPIN: " + ("READY" if self._sim_ready() else _CPIN[self.sim])])
        if u.startswith("AT+CPIN="):
            if self.sim == "pin" and line[8:].strip('"') == self.pin:
                self.pin_ok = True
                return self._answer([])
            return self._error(16)
        if u == "AT+CSQ":
            return self._answer(["+CSQ: %d,99" % (self.csq if self.sim != "absent" else 99)])
        for name in ("CEREG", "CREG", "CGREG"):
            if u == "AT+%s?" % name:
                return self._answer(["+%s: %d,%d" % (name, self.cereg_n, self.stat())])
            if u.startswith("AT+%s=" % name):
                self.cereg_n = int(u.split("=")[1] or 0)
                return self._answer([])
        if u.startswith("AT+CGDCONT="):
            parts = line.split(",")
            self.apn = parts[2].strip('"') if len(parts) > 2 else ""
            return self._answer([])
        if u in ("AT+CGSN", "AT+GSN"):
            return self._answer(['+CGSN: "%s"' % self.imei if self.cgsn_prefix else self.imei])
        if u == "AT+CGSN=1":  # TS 27.007: <sn> 1 = IMEI, always with the prefix
            return self._answer(['+CGSN: "%s"' % self.imei])
        if u == v["iccid"][0]:
            if self.sim == "absent":
                return self._error(10)
            return self._answer([v["iccid"][1] + self.iccid])
        if u in ("AT+CGMR", "AT+GMR"):
            return self._answer([v["rev"]])
        if u == "ATI":
            return self._answer([v["manuf"], v["model"], "Revision: " + v["rev"]])
        if u == "AT+COPS?":
            if self.registered():
                return self._answer(['+COPS: 0,0,"%s",7' % self.operator])
            return self._answer(["+COPS: 0"])
        if u == "AT+CCLK?":
            return self._answer(['+CCLK: "%s"' % self._cclk()])
        if u.startswith("AT+CFUN"):
            return self._answer([])
        if u.startswith("ATD*99"):
            if self.registered() and self.dial_ok:
                self.data, self._plus = True, 0
                self._answer([], "CONNECT 150000000")
                self._link(True)
                return None
            return self._answer([], "NO CARRIER")
        if u == "ATO":
            if self.registered():
                self.data, self._plus = True, 0
                self._answer([], "CONNECT 150000000")
                self._link(True)
                return None
            return self._answer([], "NO CARRIER")
        if u == "ATH" or u == "ATH0":
            return self._answer([])
        if u.startswith(v["powd"][0]):
            self._answer([])
            self._send_line(v["powd"][1], 0.0)
            self._off(keep_out=True)
            return None
        return self._error(4) if self.cmee else self._answer([], "ERROR")
