"""Line-based AT command engine over an asyncio stream (the modem's UART).

Owns the command/response discipline: one command in flight with its own timeout, final
result codes told apart from unsolicited result codes (URCs), which go to handlers and are
never taken for a command's answer (any URC-shaped line, known or not). After a timeout the
next command first resyncs (ATS8 nonce, docs/net.md) so a late final code of the timed-out
command never answers another. Lines are assembled in a fixed buffer: garbage bytes,
partial lines, over-long lines and a silent modem cost a counter, never a crash or a block.

The stream is anything with `async readinto(buf)`, `write(bytes)` and `async drain()`:
`asyncio.StreamReader(uart)` on the device, a fake in tests.
"""
import asyncio
from micropython import const

from firmware.net import clock as _clock
from firmware.net.atparse import cme_code

_MAXLINE = const(256)  # longer lines are dropped whole (counted in .overlong)
_CHUNK = const(64)
_MAXLINES = const(16)  # response lines kept per command; more are dropped
_NONCE_LO = const(10)  # resync nonces cycle 10..59: never S8's defaults (0, 2)
_NONCE_N = const(50)

# Final result codes; prefix match. NO CARRIER is final only for dial-type commands.
_FINAL_ERR = ("ERROR", "NO DIALTONE", "BUSY", "NO ANSWER")
# Unsolicited lines without a "+XXX:"-like shape (every line starting with + ^ * $ # is
# unsolicited unless it carries the running command's prefix).
_BARE_URCS = (
    "RDY", "NO CARRIER", "POWERED DOWN", "NORMAL POWER DOWN", "SMS DONE", "PB DONE", "RING",
    "START", "Call Ready", "SMS Ready", "OVER-VOLTAGE", "UNDER-VOLTAGE",
)
# URCs that mean the module rebooted or switched off: a command in flight is lost.
_RESET_URCS = ("RDY", "*ATREADY:", "POWERED DOWN", "NORMAL POWER DOWN")


def urc_shaped(line):
    """True for lines a module sends on its own: '+XXX: ...', '^MODE: ...', '*ATREADY: 1',
    '+E_UTRAN Service', RDY, SMS DONE... (never an IMEI, ICCID or revision text)."""
    return line[0] in "+^*$#" or line.startswith(_BARE_URCS)


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
    def __init__(self, stream, timeout_ms=1000, on_line=None, clock=None):
        self._s = stream
        self.timeout_ms = timeout_ms
        self._clk = clock or _clock
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
        self._pfx = ()  # information-response prefixes of its answer
        self._bare = False  # lines without a URC shape are its answer too
        self._dial = False
        self._lines = None
        self._final = None
        self._want = None  # resync: the nonce S8 must read back before a final counts
        # resync (docs/net.md): after a timeout a late final code may still come
        self.synced = True
        self._nonce = 0
        # counters (reported by the modem driver)
        self.sent = 0
        self.timeouts = 0
        self.unanswered = 0  # consecutive commands without any final code
        self.garbage = 0  # bytes outside printable ASCII
        self.overlong = 0
        self.stray = 0  # lines that are no answer and no URC we know
        self.urcs = 0
        self.late = 0  # final codes skipped while resyncing (answers of timed-out commands)
        self.resyncs = 0

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

    def forget(self):
        """The module was switched off (power cycle): no answer from before can still come."""
        self.synced = True

    @property
    def running(self):
        return self._task is not None

    async def _reader(self):
        mv = memoryview(self._chunk)
        while True:
            n = await self._s.readinto(mv)
            if not n:
                await self._clk.sleep_ms(20)  # stream closed or empty read: don't spin
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
        if cur is None:
            if not self._urc_or_reset(line):
                self.stray += 1  # a late answer, or a line we do not know
            return
        if line == cur:
            return  # echo (ATE1, or the module lost ATE0 after a reset)
        if self._want is not None:
            # resyncing: everything before the nonce belongs to older commands
            if self._final_of(line) is not None:
                self.late += 1
            elif line.isdigit() and int(line) == self._want:
                self._want = None
            elif not self._urc_or_reset(line):
                self.stray += 1
            return
        fin = self._final_of(line)
        if fin is not None:
            if fin[0] == "CONNECT":
                self._add(line)
            self._finish(fin)
            return
        for p in self._pfx:
            if line.startswith(p):
                self._add(line)
                return
        if self._urc_or_reset(line):
            return
        if self._bare:
            self._add(line)
        else:
            self.stray += 1

    def _urc_or_reset(self, line):
        if not self._urc(line):
            return False
        if line.startswith(_RESET_URCS):
            self.synced = True  # a rebooted module answers nothing from before
            if self._cur is not None:
                self._finish(("RESET", None))
        return True

    def _final_of(self, line):
        if line == "OK":
            return ("OK", None)
        if line.startswith("CONNECT"):
            return ("CONNECT", None)
        if line.startswith("+CME ERROR:") or line.startswith("+CMS ERROR:"):
            # AT+CMEE=2 verbose text means what its number means (TS 27.007 §9.2)
            return ("CME" if line[3] == "E" else "CMS", cme_code(line[11:].strip()))
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
        if hit or urc_shaped(line):
            self.urcs += 1
            return True
        return False

    def _add(self, line):
        if len(self._lines) < _MAXLINES:
            self._lines.append(line)

    def _finish(self, fin):
        self._final = fin
        self._cur = None
        self._want = None
        self._done.set()

    async def _expire(self, ms):
        await self._clk.sleep_ms(ms)
        if self._cur is not None:
            self._finish(("TIMEOUT", None))

    # --- commands
    async def cmd(self, cmd, timeout_ms=None, prefix=None):
        """Send one command; return its response lines on OK (or CONNECT, whose line is last).

        prefix: what its answer lines start with, a str or a tuple; "" admits bare lines.
        By default AT+XYZ... takes "+XYZ:" lines and bare lines, other commands bare lines.
        URC-shaped lines ('+ABC: ...', '^MODE:', RDY...) are never an answer unless they
        carry one of those prefixes. Raises AtError on any other final code, on timeout,
        reset or when stopped. After a timeout the next command resyncs first."""
        async with self._lock:
            if self._task is None:
                raise AtError("CLOSED", None)
            ms = timeout_ms or self.timeout_ms
            if not self.synced:  # at least the usual timeout: a short AT probe must not starve it
                await self._resync(max(ms, self.timeout_ms))
            if prefix is None:
                pfx, bare = (), True
                if cmd.startswith("AT+"):
                    end = 3
                    while end < len(cmd) and cmd[end] not in "=?":
                        end += 1
                    pfx = (cmd[2:end] + ":",)
            else:
                if isinstance(prefix, str):
                    prefix = (prefix,)
                pfx, bare = tuple(p for p in prefix if p), "" in prefix
            return await self._run(cmd, ms, pfx, bare)

    async def _run(self, cmd, ms, pfx, bare, want=None):
        u = cmd[:3].upper()
        self._dial = u == "ATD" or u == "ATO" or u == "ATA"
        self._pfx, self._bare, self._want = pfx, bare, want
        self._lines = []
        self._final = None
        self._done.clear()
        self._cur = cmd
        self.sent += 1
        self._s.write(cmd.encode() + b"\r")
        await self._s.drain()
        timer = asyncio.create_task(self._expire(ms))
        try:
            await self._done.wait()
        finally:
            timer.cancel()
            if self._cur is not None:  # the caller was cancelled: its answer may still come
                self._cur = None
                self.synced = False
        fin, lines = self._final, self._lines
        self._lines = None
        code = fin[0]
        if code == "TIMEOUT":
            self.synced = False  # its final code may still come: never let it answer another
            self.timeouts += 1
            self.unanswered += 1
            raise AtError("TIMEOUT", None)
        if code != "CLOSED":
            self.unanswered = 0
        if code == "OK" or code == "CONNECT":
            return lines
        raise AtError(code, fin[1])

    async def _resync(self, ms):
        """Make sure no late answer of a timed-out command can answer the next one.

        ATS8=<nonce> then ATS8? (the comma-dial pause: unused by ATD*99#). A module runs one
        command at a time, so every final code of an older command comes before the nonce
        that ATS8? reads back; the first final after it is ATS8?'s own. Nonces cycle over 50
        values that are never S8's default, so an older read cannot show the new one."""
        self.resyncs += 1
        self._nonce = (self._nonce + 1) % _NONCE_N
        n = _NONCE_LO + self._nonce
        try:
            await self._run("ATS8=%d" % n, ms, (), True)
        except AtError as e:
            if e.code in ("TIMEOUT", "CLOSED", "RESET"):
                raise
            # an error here may be a late one: the read below decides
        await self._run("ATS8?", ms, (), True, n)
        self.synced = True

    async def write_raw(self, data):
        """Bytes with no line discipline (the +++ escape)."""
        self._s.write(data)
        await self._s.drain()
