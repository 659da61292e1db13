"""The maintenance protocol on the REPL's console (UART0 or USB on an ESP32, the pty on the
sim), served by the running app, so that the host tools (`upile status`, `upile logs`) read
a pile without stopping it: the raw REPL they used before needs a Ctrl-C that ends the app
and every session with it (docs/charging.md "Console channel").

The console also carries every line the firmware prints and is where a human types; a
Ctrl-C there still stops the app into the REPL (the UART driver turns it into a
KeyboardInterrupt before it reaches this reader, which is what mpremote relies on). So:
- a command is a line that starts with MARK: byte 0x1E (ASCII RS, Ctrl-^: no key sends it
  by accident and no board prints it) then `#`, so a command that reaches a REPL instead
  of the app (app stopped, older firmware) is a Python comment there and does nothing.
  `<RS>#<tag> <command>`: tag = 1-8 letters or digits the host chooses per command, the
  command as on the maintenance UART (lines.py). Every other line is ignored, unanswered.
- a reply line is `<RS>=<tag><+|.> <text>`: the host finds it among the prints by the marker
  and its tag; `.` marks the reply's last line, `+` says more lines follow; <text> is what
  the maintenance UART would send (`ok ...`, `err <code> <detail>`).
- no `evt` lines: events belong to the maintenance UART.
Each reply line goes out in one write between two awaits, so a print of another task never
lands inside it (asyncio is cooperative; the firmware prints from that one loop only).
"""
from micropython import const

from firmware.proto.maint.lines import MAX_LINE, Server

_TAG_MAX = const(8)
MARK = b"\x1e#"
REPLY = b"\x1e="


def _alnum(c):
    return 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122


class ConsoleServer(Server):
    """Server with the console framing and without events (see the module docstring)."""

    def __init__(self, station, table=None, version=None):
        """table None: commands.py's TABLE, loaded at the first marked line (the console
        waits for a host tool all boot long; its commands' code need not)."""
        super().__init__(station, None, table, version, line_max=len(MARK) + _TAG_MAX + 1 + MAX_LINE)

    def _sender(self, stream, tag):
        async def send(text, last):
            stream.write(b"".join((REPLY, tag, b"." if last else b"+", b" ", text.encode(), b"\r\n")))
            await stream.drain()

        return send

    async def line(self, stream, mv, over):
        if len(mv) < 2 or mv[0] != MARK[0] or mv[1] != MARK[1]:
            return  # typed by a human, or noise: not for us, and a console gets no error lines
        i = 2
        end = min(len(mv), 2 + _TAG_MAX)
        while i < end and _alnum(mv[i]):
            i += 1
        tag = bytes(mv[2:i])
        bad = not tag or (i < len(mv) and mv[i] != 32)
        send = self._sender(stream, b"-" if bad else tag)
        self.lines += 1
        if bad:
            await send("err bad_tag 1-%d letters or digits after the marker, then a space" % _TAG_MAX, True)
        elif over or len(mv) - i - 1 > MAX_LINE:  # the same limit as on the UART, whatever the tag
            await send("err too_long max %d bytes" % MAX_LINE, True)
        elif not bytes(mv[i:]).strip():
            await send("err bad_args no command (try help)", True)
        else:
            if self.table is None:
                from firmware.proto.maint.commands import TABLE

                self.table = TABLE
            self.lines -= 1  # counted by command()
            await self.command(mv[i + 1:], send)
