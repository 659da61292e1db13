"""The running app's maintenance channel on a board's console (firmware/proto/maint/console.py).

Reads a pile without stopping it: a command line `<RS>#<tag> <command>` goes to the console
the REPL uses; the app answers `<RS>=<tag><+|.> <text>` lines among its prints (`.` on the
last line of a reply). Nothing is interrupted, nothing is reset. A board whose app does not
answer and stays silent for `first_timeout` (stopped at the REPL, older firmware) raises
NoAnswer, and the caller falls back to the raw REPL (upile.device), saying so; a board still
printing its start-up is waited for (BUSY_MAX), since its app reads the line once it runs.
The serial object is mpremote's (SerialTransport.serial): a serial device or the sim's socket.
"""
import os
import re
import time

from upile.errors import UserError

MARK = b"\x1e#"
REPLY = b"\x1e="
FIRST_TIMEOUT = float(os.environ.get("UPILE_APP_TIMEOUT", "3"))  # seconds of silence before "no app"
BUSY_MAX = 20.0  # a board that keeps printing (booting: the app answers once it has started) is waited for this long
LINE_TIMEOUT = 15.0  # seconds between two lines of one reply once the app answers
_REPLY_LINE = re.compile(rb"\x1e=([0-9A-Za-z]{1,8}|-)([+.]) (.*)")


class NoAnswer(Exception):
    """The app did not answer: args[0] is AT_REPL (a REPL echoed the command and showed its
    prompt) or TIMEOUT (nothing within the first timeout)."""


AT_REPL = "at_repl"
TIMEOUT = "timeout"


class Channel:
    def __init__(self, serial, name):
        self.ser = serial
        self.name = name
        self._seq = 0
        self._prefix = "%04x" % (int.from_bytes(os.urandom(2), "big"))  # stale replies of another run never match

    def _tag(self):
        self._seq += 1
        return "%s%d" % (self._prefix, self._seq % 10000)

    def request(self, command, first_timeout=LINE_TIMEOUT, line_timeout=LINE_TIMEOUT):
        """Send one command; its reply lines (`ok ...`/`err ...`), the framing taken off.
        NoAnswer when nothing of the reply came within `first_timeout` of silence (a board
        that prints meanwhile is starting up: its app reads the line once it runs, so the
        wait goes on, BUSY_MAX in all), or when the board showed a REPL prompt after our line
        instead; UserError when the reply stopped half-way."""
        tag = self._tag()
        # the leading LF ends whatever a human left half-typed; a REPL ignores it (readline
        # takes CR only), and the command line itself is a comment there
        self.ser.write(b"\n" + MARK + tag.encode() + b" " + command.encode("ascii") + b"\r\n")
        self.ser.flush()
        out = []
        seen = bytearray()  # what the board printed meanwhile: a REPL echo and prompt tell it is no app
        part = bytearray()
        t0 = time.monotonic()
        deadline = t0 + first_timeout
        old = self.ser.timeout
        self.ser.timeout = 0.05
        try:
            while True:
                data = self.ser.read(max(1, self.ser.in_waiting))
                if data:
                    part += data
                    *lines, rest = part.split(b"\n")
                    part = bytearray(rest)
                    for raw in lines:
                        m = _REPLY_LINE.search(raw.rstrip(b"\r"))
                        if m is None or m.group(1).decode() != tag:
                            seen += raw + b"\n"
                            continue
                        out.append(m.group(3).decode("utf-8", "replace"))
                        deadline = time.monotonic() + line_timeout
                        if m.group(2) == b".":
                            return out
                    del seen[:-4096]
                    if not out:  # the board is busy printing (booting?): silence is what counts
                        busy_end = t0 + max(BUSY_MAX, first_timeout)
                        deadline = max(deadline, min(time.monotonic() + first_timeout, busy_end))
                    if not out and _at_repl(seen + part, tag):
                        raise NoAnswer(AT_REPL)
                if time.monotonic() > deadline:
                    if not out:
                        raise NoAnswer(TIMEOUT)
                    raise UserError("%s stopped answering in the middle of `%s` (%d lines came)"
                                    % (self.name, command, len(out)))
        finally:
            self.ser.timeout = old

    def ok(self, command, first_timeout=LINE_TIMEOUT):
        """request() that must succeed: UserError with the app's `err` line otherwise."""
        r = self.request(command, first_timeout)
        if not r or not r[0].startswith("ok"):
            raise UserError("the app on %s refused `%s`: %s" % (self.name, command, r[-1] if r else "no reply"))
        if r[-1].startswith("err"):  # a streamed reply that failed on the way
            raise UserError("the app on %s failed `%s`: %s" % (self.name, command, r[-1]))
        return r


def _at_repl(seen, tag):
    """The board echoed our command line and printed a prompt: a REPL read it, not the app."""
    i = seen.rfind(b"#" + tag.encode() + b" ")
    return i >= 0 and b">>> " in seen[i:]


def streamed(reply):
    """The lines of a `stream=1` reply (`logs`; `status json`, whose lines joined are one JSON
    text), checked against its `ok end n=K`."""
    if not reply[0].endswith(" stream=1") or not reply[-1].startswith("ok end n="):
        raise UserError("unexpected reply from the app: %r" % reply[0][:120])
    lines = [line[5:] for line in reply[1:-1]]
    if int(reply[-1][9:]) != len(lines) or any(not line.startswith("ok | ") for line in reply[1:-1]):
        raise UserError("the app's reply lost lines (%s, %d came)" % (reply[-1], len(lines)))
    return lines
