"""The maintenance line protocol: framing, replies and event lines over one asyncio stream.

One command per line (ASCII, at most 128 bytes, CR and/or LF ends it). Every command gets
exactly one reply line `ok ...` or `err <code> <detail>`; a reply that says `more=K` is
followed by K more `ok ...` lines; a streamed reply (`stream=1`: the log, read from flash
as it is sent) by `ok | <text>` lines and one last line, `ok end n=<K>` or an `err` if
reading failed on the way. Bus events are pushed as `evt ...` lines in between.
Bad input (garbage, over-long lines, unknown commands, wrong arguments) gets an `err` and
never blocks or crashes the port; events wait in the bus's bounded queue (a port nobody
reads loses its oldest events and says `evt dropped n=K`). The commands are commands.py;
console.py frames the same protocol on the REPL's console.
"""
import asyncio

from micropython import const

import log

_log = log.get("maint")
MAX_LINE = const(128)
_EVENTS = const(32)
TOPICS = ("port.", "session.started", "session.stopped", "alarm.", "ota.", "link.", "time.")


class CmdError(Exception):
    """args: (code, detail); becomes `err <code> <detail>`."""


def _val(v):
    if v is None:
        return "-"
    if v is True or v is False:
        return "1" if v else "0"
    s = str(v)
    return s.replace(" ", "_") if " " in s else s


def kv(d, keys):
    """'k=v k=v' for the keys present in d (None as '-', spaces as '_'); keys: (name, key)."""
    out = []
    for name, key in keys:
        if key in d:
            out.append("%s=%s" % (name, _val(d[key])))
    return " ".join(out)


BILL_KEYS = (("id", "id"), ("port", "port"), ("kind", "kind"), ("amount", "amount"), ("tag", "id_tag"),
             ("reason", "reason"), ("cause", "cause"), ("mwh", "energy_mwh"), ("s", "charged_s"), ("fen", "fen"),
             ("refund", "refund"), ("tier", "tier"), ("method", "method"), ("meter_start", "meter_start"),
             ("meter_stop", "meter_stop"), ("start", "start_time"), ("stop", "stop_time"))
_STARTED_KEYS = (("id", "id"), ("kind", "kind"), ("amount", "amount"), ("tag", "id_tag"), ("resumed", "resumed"),
                 ("method", "method"), ("meter_start", "meter_start"))


def event_line(ev):
    """One `evt ...` line for a bus event."""
    t, d = ev.topic, ev.data
    if t == "port.status":
        line = "evt status %d %s prev=%s cause=%s" % (d["port"], d["status"], _val(d.get("prev")), _val(d.get("cause")))
        if d.get("error", "NoError") != "NoError":
            line += " error=" + d["error"]
        return line
    if t == "session.started":
        return "evt started %d %s" % (d["port"], kv(d, _STARTED_KEYS))
    if t == "session.stopped":
        return "evt bill %d %s" % (d["port"], kv(d, BILL_KEYS))
    parts = t.split(".", 1)
    line = "evt %s %s %s" % (parts[0], parts[1] if len(parts) > 1 else "-", kv(d, [(k, k) for k in sorted(d)]))
    return line.rstrip()


def _text(x):
    """A reply item as line text: a dict (a bill, a record) as one line of JSON."""
    if isinstance(x, str):
        return x
    import json

    return json.dumps(x)


class Server:
    """The protocol on one stream for one Station; `table` maps command names to
    (handler, usage). handler(server, args) -> reply text, (head, rest) or an awaitable of
    either; rest is a list (K lines, `more=K`; a dict item becomes a JSON line) or an
    iterator (streamed, `stream=1`: made as it is sent, so a long reply never sits whole in
    the heap, and each line is short enough not to hold the event loop)."""

    def __init__(self, station, bus, table, version=None, line_max=MAX_LINE):
        self.station = station
        self.version = version or (station.version if station is not None else "-")
        self.table = table
        self.sub = bus.subscribe(*TOPICS, size=_EVENTS) if bus is not None else None
        self._buf = bytearray(line_max)
        self.lines = 0  # commands handled (good and bad)

    # ---- commands
    def _call(self, line):
        """(handler result) for one decoded line; raises CmdError."""
        words = line.split()
        if not words:
            return None
        ent = self.table.get(words[0])
        if ent is None:
            raise CmdError("unknown_command", words[0][:24] + " (try help)")
        return ent[0](self, words[1:])

    async def answer(self, line, send):
        """Run one command line (str); `await send(text, last)` for each reply line, `last`
        true on the reply's final line. Never raises for the command's sake."""
        from firmware.station import Refused

        self.lines += 1
        try:
            r = self._call(line)
            if r is not None and hasattr(r, "send"):  # an async handler
                r = await r
        except CmdError as e:
            await send("err %s %s" % (e.args[0], e.args[1] if len(e.args) > 1 else ""), True)
            return
        except Refused as e:  # the pile's refusal: its reason code (and detail when it has one)
            await send("err %s %s" % (e.args[0], e.args[1] if len(e.args) > 1 and e.args[1] else line.split()[0]),
                       True)
            return
        except Exception as e:  # a bug behind one command must not take the port down
            _log.warn("command %s failed: %r", line[:24], e)
            await send("err failed %s" % line.split()[0], True)
            return
        if r is None:
            return
        if not isinstance(r, tuple):
            await send("ok " + r, True)
            return
        head, rest = r
        if isinstance(rest, (list, tuple)):
            n = len(rest)
            await send("ok %s more=%d" % (head, n), not n)
            for i in range(n):
                await send("ok " + _text(rest[i]), i == n - 1)
        else:
            await self._stream(line, head, rest, send)

    async def _stream(self, line, head, it, send):
        """A reply whose length is not known up front (read from flash as it goes out)."""
        await send("ok %s stream=1" % head, False)
        n = 0
        try:
            for x in it:
                await send("ok | " + _text(x), False)
                n += 1
        except Exception as e:  # flash gone bad under the reader, or a bug: the reply ends saying so
            _log.warn("command %s failed after %d lines: %r", line[:24], n, e)
            await send("err failed %s after %d lines" % (line.split()[0], n), True)
            return
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()  # a file the iterator holds is closed now, not at a garbage collection
        await send("ok end n=%d" % n, True)

    async def handle(self, line):
        """Every reply line (without line ends) of one command line (str), as a list (tests
        and callers that want it whole; the ports send each line as it comes)."""
        out = []

        async def send(text, last):
            out.append(text)

        await self.answer(line, send)
        return out

    # ---- the port
    async def serve(self, stream):
        """Run the port on an asyncio stream (read(n), write(b), drain()) until it ends."""
        ev = asyncio.create_task(self._events(stream)) if self.sub is not None else None
        try:
            await self._commands(stream)
        finally:
            if ev is not None:
                ev.cancel()

    async def _write(self, stream, lines):
        for line in lines:
            stream.write(line.encode() + b"\r\n")
        if lines:
            await stream.drain()

    async def _events(self, stream):
        sub = self.sub
        while True:
            ev = await sub.get()
            n = sub.take_dropped()
            if n:
                await self._write(stream, ["evt dropped n=%d" % n])
            try:
                line = event_line(ev)
            except (KeyError, TypeError, ValueError) as e:  # a malformed event: said, not fatal
                line = "evt bad %s %r" % (ev.topic, e)
            await self._write(stream, [line])

    async def _commands(self, stream):
        buf = self._buf
        cap = len(buf)
        n = 0
        over = False
        while True:
            chunk = await stream.read(32)
            if not chunk:
                return  # stream closed (tests); a UART never ends
            for c in chunk:
                if c != 10 and c != 13:
                    if not over:
                        if n < cap:
                            buf[n] = c
                            n += 1
                        else:
                            over = True
                    continue
                if n or over:
                    await self.line(stream, memoryview(buf)[:n], over)
                n = 0
                over = False

    def sender(self, stream):
        """send(text, last) for replies on this port: one line each, written at once."""

        async def send(text, last):
            stream.write(text.encode() + b"\r\n")
            await stream.drain()

        return send

    async def line(self, stream, mv, over):
        """One line that came in (its first bytes when `over`: it was longer than the buffer)."""
        send = self.sender(stream)
        if over:
            self.lines += 1
            await send("err too_long max %d bytes" % MAX_LINE, True)
        else:
            await self.command(mv, send)

    async def command(self, mv, send):
        for c in mv:
            if c < 32 or c > 126:
                self.lines += 1
                await send("err bad_line not printable ASCII", True)
                return
        await self.answer(str(bytes(mv), "ascii"), send)
