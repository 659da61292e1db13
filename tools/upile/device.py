"""A board's REPL from the host, through mpremote's own transport (raw REPL, raw paste).

Works the same for a serial device and for the sim board's console socket. Entering the raw
REPL interrupts the running app (Ctrl-C), as with any mpremote session; `close(restart=True)`
leaves the raw REPL and soft-resets from the friendly REPL (Ctrl-D), which runs boot.py and
main.py again, so the pile goes back to work. Reads (`upile status`, `upile logs`) go to the
running app's console channel first (read_running(), upile.appchan), which interrupts
nothing; the raw REPL is their fallback when the app does not answer.
Errors become UserError with one line: port missing or busy, board not answering.
"""
import json
import os
import sys

from upile.errors import UserError
from upile.ports import device_url

RAW_REPL_TIMEOUT = float(os.environ.get("UPILE_REPL_TIMEOUT", "8"))  # seconds to get the raw REPL


class DeviceError(UserError):
    """Code run on the board raised; args[0] holds the board's last traceback line."""


class Device:
    def __init__(self, port, timeout=RAW_REPL_TIMEOUT, soft_reset=False, raw=True):
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport

        self.port = port
        self.url = device_url(port)
        try:
            self.t = SerialTransport(self.url, baudrate=115200)
        except TransportError:
            raise UserError("cannot open %s: it is busy (another mpremote or console?) or gone" % self._name())
        except Exception as e:  # pyserial raises SerialException (an OSError) or ValueError by URL
            raise UserError("cannot open %s: %s" % (self._name(), _first_line(e)))
        self._raw = False
        if raw:  # raw=False: connected, the app left running (its console channel: app())
            self.enter(timeout, soft_reset)

    def _name(self):
        return "the sim board (%s)" % self.url if self.port == "sim" else self.port

    def enter(self, timeout=RAW_REPL_TIMEOUT, soft_reset=False):
        """Interrupt the app and enter the raw REPL. Without `soft_reset` the app's objects stay
        for inspection; with it the board soft-resets in the raw REPL (boot.py runs, main.py
        does not), which gives a clean heap for copying files.

        Tried twice: a Ctrl-C that lands while the board is still starting up (before the
        interpreter handles it) is lost, as on a board that is just resetting."""
        from mpremote.transport import TransportError

        err = None
        for _ in range(2):
            try:
                self.t.enter_raw_repl(soft_reset=soft_reset, timeout_overall=timeout / 2)
                self._raw = True
                return
            except (TransportError, OSError) as e:
                err = e
        self.close(restart=False)
        raise UserError("%s is not answering (no raw REPL within %d s): %s"
                        % (self._name(), timeout, _first_line(err) or "no prompt"))

    def app(self):
        """The running app's console channel on this connection (upile.appchan.Channel)."""
        from upile.appchan import Channel

        return Channel(self.t.serial, self._name())

    def exec(self, code, timeout=30):
        """Run `code` on the board; its printed output as text."""
        from mpremote.transport import TransportError

        try:
            out, err = self.t.exec_raw(code, timeout=timeout)
        except (TransportError, OSError) as e:
            raise UserError("%s stopped answering: %s" % (self._name(), _first_line(e)))
        if err:
            lines = err.decode("utf-8", "replace").strip().splitlines()
            raise DeviceError("the board raised: %s" % (lines[-1] if lines else "error"))
        return out.decode("utf-8", "replace")

    def json(self, code, timeout=30):
        """Run `code`, which prints one JSON document last; return it decoded."""
        out = self.exec(code, timeout)
        last = out.strip().splitlines()[-1] if out.strip() else ""
        try:
            return json.loads(last)
        except ValueError:
            raise UserError("unexpected answer from %s: %r" % (self._name(), out[-200:]))

    def write_file(self, path, data, chunk=512):
        """Write `data` to `path` on the board in fixed chunks (the board never holds it whole)."""
        self.exec("_f=open(%r,'wb')\n_w=_f.write" % path)
        try:
            for i in range(0, len(data), chunk):
                self.exec("_w(%r)" % bytes(data[i:i + chunk]))
        finally:
            self.exec("_f.close()\ndel _f,_w")

    def close(self, restart=True):
        """Leave the raw REPL; with `restart`, soft-reset so boot.py and main.py run again."""
        try:
            if self._raw:
                self.t.exit_raw_repl()
                self._raw = False
                if restart:
                    self.t.serial.write(b"\x04")
                    self.t.serial.flush()
        except OSError:
            pass
        finally:
            try:
                self.t.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close(restart=getattr(self, "restart", True))


def read_running(port, from_app, from_repl, restart=True, what="reading"):
    """from_app(channel, first_timeout) through the running app's console channel: nothing is
    interrupted. When the app does not answer (stopped at the REPL, older firmware),
    from_repl(device) in the raw REPL instead, which interrupts the app if one runs; a note
    on stderr says so and what happens next (restart: the board is soft-reset afterwards,
    so the app runs again; without, it stays at the REPL)."""
    from upile.appchan import AT_REPL, FIRST_TIMEOUT, NoAnswer

    with Device(port, raw=False) as d:
        d.restart = restart
        try:
            return from_app(d.app(), FIRST_TIMEOUT)
        except NoAnswer as e:
            at_repl = e.args[0] == AT_REPL
        d.enter()  # a board that answers neither way: UserError, that one line only
        if at_repl:
            why = "the app is not running on %s (the board is at the REPL); %s through the raw REPL instead" % (
                d._name(), what)
        else:
            why = ("the app on %s did not answer on the console (%g s without a word; not running, or firmware "
                   "without the console channel); %s through the raw REPL instead, which stops a running app (and "
                   "its charging) with Ctrl-C" % (d._name(), FIRST_TIMEOUT, what))
        after = ("the board is soft-reset afterwards, so the app starts again" if restart
                 else "--no-restart: the board stays at the REPL afterwards, the app not running")
        print("upile: %s; %s" % (why, after), file=sys.stderr)
        return from_repl(d)


def _first_line(e):
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
