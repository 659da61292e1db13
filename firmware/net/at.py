"""Line-based AT command engine over an asyncio stream (the modem's UART).

Owns the command/response discipline: one command in flight with its own timeout, final
result codes told apart from unsolicited result codes (URCs), which go to handlers and are
never taken for a command's answer. Lines are assembled in a fixed buffer: garbage bytes,
partial lines, over-long lines and a silent modem cost a counter, never a crash or a block.

The stream is anything with `async readinto(buf)`, `write(bytes)` and `async drain()`:
`asyncio.StreamReader(uart)` on the device, a fake in tests.
"""
import asyncio
from micropython import const

_MAXLINE = const(256)  # longer lines are dropped whole (counted in .overlong)
_CHUNK = const(64)
_MAXLINES = const(16)  # response lines kept per command; more are dropped

# Final result codes; prefix match. NO CARRIER is final only for dial-type commands.
_FINAL_ERR = ("ERROR", "NO DIALTONE", "BUSY", "NO ANSWER")
# URCs we know (vendors add more; handlers registered with on() count too).
_URCS = (
    "RDY", "+CPIN:", "+CEREG:", "+CREG:", "+CGREG:", "NO CARRIER", "POWERED DOWN",
    "NORMAL POWER DOWN", "SMS DONE", "PB DONE", "+QIND:", "+QUSIM:", "+CFUN:", "*ATREADY:",
    "+CTZV:", "+CTZE:", "+QNITZ:", "+NITZ", "+PSUTTZ:", "+CMTI:", "RING", "+CRING:", "+CSQN:",
    "+QSTAT:", "+CGEV:", "^MODE:", "+CPSI:", "+QSIMSTAT:", "START",
)
# URCs that mean the module rebooted or switched off: a command in flight is lost.
_RESET_URCS = ("RDY", "*ATREADY:", "POWERED DOWN", "NORMAL POWER DOWN")


class AtError(Exception):
    """args: (code, n). code is "ERROR", "CME", "CMS", "NO CARRIER", "BUSY", "NO DIALTONE",
    "NO ANSWER", "TIMEOUT" (no final code in time), "RESET" (module rebooted mid-command)
    or "CLOSED" (engine stopped / UART handed to PPP); n is the +CME/+CMS number or None."""

    @property
    def code(self):
        return self.args[0]

    @property
    def n(self):
        return self.args[1]


class At:
    def __init__(self, stream, timeout_ms=1000, on_line=None):
        self._s = stream
        self.timeout_ms = timeout_ms
        self._buf = bytearray(_MAXLINE)
        self._len = 0
        self._skip = False  # inside an over-long line: drop until its end
        self._chunk = bytearray(_CHUNK)
        self._handlers = []  # (prefix, fn(line))
        self._on_line = on_line  # optional tap for every line (tests, logging)
        self._lock = asyncio.Lock()
        self._done = asyncio.Event()
        self._task = None
        # the command in flight
        self._cur = None
        self._prefix = None
        self._dial = False
        self._lines = None
        self._final = None
        # counters (reported by the modem driver)
        self.sent = 0
        self.timeouts = 0
        self.unanswered = 0  # consecutive commands without any final code
        self.garbage = 0  # bytes outside printable ASCII
        self.overlong = 0
        self.stray = 0  # unknown lines outside a command
        self.urcs = 0

    # --- URC handlers
    def on(self, prefix, fn):
        """Call fn(line) for every URC starting with prefix (also for prefixes not built in)."""
        self._handlers.append((prefix, fn))

    # --- reader task
    def start(self):
        if self._task is None:
            self._task = asyncio.create_task(self._reader())
        return self._task

    def stop(self):
        """Stop reading (before handing the UART to PPP); a command in flight ends CLOSED."""
        t, self._task = self._task, None
        if t is not None:
            t.cancel()
        if self._cur is not None:
            self._finish(("CLOSED", None))

    @property
    def running(self):
        return self._task is not None

    async def _reader(self):
        mv = memoryview(self._chunk)
        while True:
            n = await self._s.readinto(mv)
            if not n:
                await asyncio.sleep_ms(20)  # stream closed or empty read: don't spin
                continue
            self._feed(mv, n)

    def feed(self, data):
        """Process bytes as if read from the stream (tests, and bytes read elsewhere)."""
        self._feed(data, len(data))

    def _feed(self, data, n):
        buf = self._buf
        i = 0
        while i < n:
            c = data[i]
            i += 1
            if c == 13 or c == 10:
                if self._skip:
                    self._skip = False
                elif self._len:
                    self._line()
                self._len = 0
                continue
            if self._skip:
                continue
            if c < 32 or c > 126:
                self.garbage += 1
                if self._len == 0:
                    continue  # noise before a line (e.g. after power-on) is dropped
                c = 63  # '?': keeps the line decodable
            if self._len == _MAXLINE:
                self.overlong += 1
                self._skip = True
                self._len = 0
                continue
            buf[self._len] = c
            self._len += 1

    def _line(self):
        line = str(memoryview(self._buf)[: self._len], "ascii")
        if self._on_line:
            self._on_line(line)
        cur = self._cur
        if cur is not None:
            if line == cur:
                return  # echo (ATE1, or the module lost ATE0 after a reset)
            fin = self._final_of(line)
            if fin is not None:
                if fin[0] == "CONNECT":
                    self._add(line)
                self._finish(fin)
                return
            if self._prefix and line.startswith(self._prefix):
                self._add(line)
                return
            if self._urc(line):
                if line.startswith(_RESET_URCS):
                    self._finish(("RESET", None))
                return
            self._add(line)
            return
        if not self._urc(line):
            self.stray += 1

    def _final_of(self, line):
        if line == "OK":
            return ("OK", None)
        if line.startswith("CONNECT"):
            return ("CONNECT", None)
        if line.startswith("+CME ERROR:") or line.startswith("+CMS ERROR:"):
            code = "CME" if line.startswith("+CME") else "CMS"
            txt = line[11:].strip()
            try:
                return (code, int(txt))
            except ValueError:
                return (code, txt)  # AT+CMEE=2 verbose text
        if line == "NO CARRIER":
            return ("NO CARRIER", None) if self._dial else None
        for f in _FINAL_ERR:
            if line == f:
                return (f, None)
        return None

    def _urc(self, line):
        hit = False
        for p, fn in self._handlers:
            if line.startswith(p):
                hit = True
                try:
                    fn(line)
                except Exception as e:  # a faulty handler must not kill the reader
                    print("at: URC handler failed:", repr(e))
        if hit or line.startswith(_URCS):
            self.urcs += 1
            return True
        return False

    def _add(self, line):
        if len(self._lines) < _MAXLINES:
            self._lines.append(line)

    def _finish(self, fin):
        self._final = fin
        self._cur = None
        self._done.set()

    # --- commands
    async def cmd(self, cmd, timeout_ms=None, prefix=None):
        """Send one command; return its response lines on OK (or CONNECT, whose line is last).

        prefix: the information-response prefix if not derivable (AT+XYZ? -> "+XYZ:").
        Raises AtError on any other final code, on timeout, reset or when stopped."""
        async with self._lock:
            if self._task is None:
                raise AtError("CLOSED", None)
            if prefix is None and cmd.startswith("AT+"):
                end = 3
                while end < len(cmd) and cmd[end] not in "=?":
                    end += 1
                prefix = cmd[2:end] + ":"
            u = cmd[:3].upper()
            self._dial = u == "ATD" or u == "ATO" or u == "ATA"
            self._prefix = prefix
            self._lines = []
            self._final = None
            self._done.clear()
            self._cur = cmd
            self.sent += 1
            self._s.write(cmd.encode() + b"\r")
            await self._s.drain()
            try:
                await asyncio.wait_for_ms(self._done.wait(), timeout_ms or self.timeout_ms)
            except asyncio.TimeoutError:
                self._cur = None
                self.timeouts += 1
                self.unanswered += 1
                raise AtError("TIMEOUT", None)
            fin, lines = self._final, self._lines
            self._lines = None
            if fin[0] != "CLOSED":
                self.unanswered = 0
            if fin[0] == "OK" or fin[0] == "CONNECT":
                return lines
            raise AtError(fin[0], fin[1])

    async def write_raw(self, data):
        """Bytes with no line discipline (the +++ escape)."""
        self._s.write(data)
        await self._s.drain()
