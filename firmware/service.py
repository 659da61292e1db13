"""Local maintenance port: a line protocol on a spare UART, for field engineers, the factory
line and the sim demo/tests (the backend link is not needed to run or inspect the pile).

One command per line (ASCII, at most 128 bytes, CR and/or LF ends it). Every command gets
exactly one reply line `ok ...` or `err <code> <detail>`; a reply that says `more=K` is
followed by K more `ok ...` lines. Pile events are pushed as `evt ...` lines in between.
Bad input (garbage, over-long lines, unknown commands, wrong arguments) gets an `err` and
never blocks or crashes the port; the event queue is bounded (oldest dropped, counted).

Other domains add commands with `register(name, handler, usage)`: handler(svc, args) ->
reply text (or (header, [lines]) for a multi-line reply, or an awaitable of either); it
raises CmdError(code, detail) for a refusal. E.g. OTA: register("ota", ota_cmd, "ota check").
"""
import asyncio

from micropython import const

import log
from firmware.charging.pile import ChargeError
from firmware.version import VERSION

_log = log.get("service")
_MAX_LINE = const(128)
_MAX_EVENTS = const(16)
_BILLS = const(20)  # bills listed per `bills` command (ack some, then ask again)
_TAG_MAX = const(32)

_TABLE = {}  # name -> (handler, usage)


class CmdError(Exception):
    """args: (code, detail); becomes `err <code> <detail>`."""


def register(name, handler, usage=""):
    """Add (or replace) command `name`; see the module docstring for the handler contract."""
    _TABLE[name] = (handler, usage or name)


def commands():
    return sorted(_TABLE)


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


BILL_KEYS = (("id", "id"), ("port", "p"), ("kind", "b"), ("amount", "a"), ("tag", "tag"), ("reason", "reason"),
             ("cause", "cause"), ("mwh", "mwh"), ("s", "s"), ("fen", "fen"), ("refund", "refund"), ("tier", "tier"))
_INFO_KEYS = (("status", "status"), ("fault", "fault"), ("p_w", "p_w"), ("id", "id"), ("kind", "kind"),
              ("amount", "amount"), ("mwh", "mwh"), ("charged_s", "charged_s"), ("fen", "fen"), ("tier", "tier"))
_STARTED_KEYS = (("id", "id"), ("kind", "kind"), ("amount", "amount"), ("tag", "tag"), ("resumed", "resumed"))


def _int(s, what):
    try:
        return int(s)
    except ValueError:
        raise CmdError("bad_args", "%s must be an integer, got %s" % (what, s))


class Service:
    def __init__(self, pile=None, version=VERSION, max_events=_MAX_EVENTS):
        self.pile = pile
        self.version = version
        self._q = []
        self._max_q = max_events
        self.dropped = 0  # event lines lost because nobody drained the queue in time
        self._flag = asyncio.Event()
        self._buf = bytearray(_MAX_LINE)
        self.lines = 0  # commands handled (good and bad)

    # ---- pile events (called in the control loop: format, queue, never block)
    def event(self, kind, port, detail):
        if kind == "status":
            line = "evt status %d %s prev=%s cause=%s" % (port, detail.get("status"), _val(detail.get("prev")),
                                                        _val(detail.get("cause")))
        elif kind == "session_started":
            line = "evt started %d %s" % (port, kv(detail, _STARTED_KEYS))
        elif kind == "session_stopped":
            line = "evt bill %d %s" % (port, kv(detail, BILL_KEYS))
        else:
            line = "evt %s %d" % (_val(kind), port)
        self.push(line)

    def push(self, line):
        """Queue an unsolicited line (`evt ...`) for the port."""
        if len(self._q) >= self._max_q:
            self._q.pop(0)
            self.dropped += 1
        self._q.append(line)
        self._flag.set()

    # ---- commands
    def _need_pile(self):
        if self.pile is None:
            raise CmdError("no_pile", "charging is not running")
        return self.pile

    def _call(self, line):
        """(handler result) for one decoded line; raises CmdError."""
        words = line.split()
        if not words:
            return None
        ent = _TABLE.get(words[0])
        if ent is None:
            raise CmdError("unknown_command", words[0][:24] + " (try help)")
        return ent[0](self, words[1:])

    async def handle(self, line):
        """Reply lines (without line ends) for one command line (str); never raises."""
        self.lines += 1
        try:
            r = self._call(line)
            if r is not None and hasattr(r, "send"):  # an async handler
                r = await r
        except CmdError as e:
            return ["err %s %s" % (e.args[0], e.args[1] if len(e.args) > 1 else "")]
        except ChargeError as e:  # the pile's refusal: its reason code
            return ["err %s %s" % (e.args[0], line.split()[0])]
        except Exception as e:  # another domain's bug must not take the port down
            _log.warn("command %s failed: %r", line[:24], e)
            return ["err failed %s" % line.split()[0]]
        if r is None:
            return []
        if isinstance(r, tuple):
            head, rest = r
            out = ["ok %s more=%d" % (head, len(rest))]
            for x in rest:
                out.append("ok " + x)
            return out
        return ["ok " + r]

    # ---- the port
    async def serve(self, stream):
        """Run the port on an asyncio stream (read(n), write(b), drain()) until it ends."""
        ev = asyncio.create_task(self._events(stream))
        try:
            await self._commands(stream)
        finally:
            ev.cancel()

    async def _write(self, stream, lines):
        for line in lines:
            stream.write(line.encode() + b"\r\n")
        if lines:
            await stream.drain()

    async def _events(self, stream):
        while True:
            await self._flag.wait()
            self._flag.clear()
            while self._q:
                if self.dropped:
                    n, self.dropped = self.dropped, 0
                    await self._write(stream, ["evt dropped n=%d" % n])
                await self._write(stream, [self._q.pop(0)])

    async def _commands(self, stream):
        buf = self._buf
        n = 0
        over = False
        while True:
            chunk = await stream.read(32)
            if not chunk:
                return  # stream closed (tests); a UART never ends
            for c in chunk:
                if c != 10 and c != 13:
                    if not over:
                        if n < _MAX_LINE:
                            buf[n] = c
                            n += 1
                        else:
                            over = True
                    continue
                if over:
                    await self._write(stream, ["err too_long max %d bytes" % _MAX_LINE])
                elif n:
                    await self._write(stream, await self._line(memoryview(buf)[:n]))
                n = 0
                over = False

    async def _line(self, mv):
        for c in mv:
            if c < 32 or c > 126:
                self.lines += 1
                return ["err bad_line not printable ASCII"]
        return await self.handle(str(bytes(mv), "ascii"))


# ---- built-in commands
def _help(svc, args):
    return " ".join(_TABLE[k][1].split()[0] for k in commands())


def _status(svc, args):
    pile = svc.pile
    if pile is None:
        return "version=%s charging=off" % svc.version
    n = len(pile.ports)
    parts = ["version=%s ports=%d idle=%d" % (svc.version, n, 1 if pile.is_idle() else 0)]
    for i in range(1, n + 1):
        parts.append("%d=%s" % (i, pile.status(i)))
    return " ".join(parts)


def _port_arg(args, usage, nmin, nmax):
    if not nmin <= len(args) <= nmax:
        raise CmdError("bad_args", "usage: " + usage)
    return _int(args[0], "port")


def _start(svc, args):
    usage = _TABLE["start"][1]
    port = _port_arg(args, usage, 2, 4)
    kind = args[1]
    if kind == "full":
        amount = _int(args[2], "amount") if len(args) > 2 else 0
        tag = args[3] if len(args) > 3 else None
    else:
        if len(args) < 3:
            raise CmdError("bad_args", "usage: " + usage)
        amount = _int(args[2], "amount")
        tag = args[3] if len(args) > 3 else None
    if kind not in ("time", "energy", "money", "full"):
        raise CmdError("bad_args", "kind must be time, energy, money or full")
    if tag is not None and len(tag) > _TAG_MAX:
        raise CmdError("bad_args", "tag longer than %d" % _TAG_MAX)
    sid = svc._need_pile().start(port, kind, amount, tag)
    return "id=%d port=%d" % (sid, port)


def _stop(svc, args):
    port = _port_arg(args, _TABLE["stop"][1], 1, 1)
    bill = svc._need_pile().stop(port, "Local", "service")
    return kv(bill, BILL_KEYS)


def _info(svc, args):
    port = _port_arg(args, _TABLE["info"][1], 1, 1)
    return "port=%d %s" % (port, kv(svc._need_pile().info(port), _INFO_KEYS))


def _bills(svc, args):
    if args:
        raise CmdError("bad_args", "usage: bills")
    bills = svc._need_pile().pending_bills(_BILLS)
    return "bills", [kv(b, BILL_KEYS) for b in bills]


def _ack(svc, args):
    if len(args) != 1:
        raise CmdError("bad_args", "usage: ack <id>")
    sid = _int(args[0], "id")
    if not svc._need_pile().ack_bill(sid):
        raise CmdError("no_bill", "%d is not pending" % sid)
    return "acked id=%d" % sid


register("help", _help, "help")
register("status", _status, "status")
register("start", _start, "start <port> <time|energy|money|full> <amount> [tag]")
register("stop", _stop, "stop <port>")
register("info", _info, "info <port>")
register("bills", _bills, "bills")
register("ack", _ack, "ack <id>")


def start(cfg, pile=None, events=None, stream=None):
    """Open the port (board layer) and serve it as a task; None when disabled or not wired.
    events: a firmware.events.Hub (or anything with subscribe(fn)) carrying the pile's events."""
    sc = cfg["service"]
    if not sc["enabled"]:
        return None
    if stream is None:
        if sc["tx"] < 0 or sc["rx"] < 0:  # no maintenance header on this board: nothing to open
            print("service: not wired (service.tx/rx unset)")
            return None
        # a UART shared with the meters or the modem is refused with the config (board/rules.py)
        from firmware.board import serviceport

        stream = serviceport.open_stream(sc)
    svc = Service(pile)
    if events is not None:
        events.subscribe(svc.event)
    svc.task = asyncio.create_task(svc.serve(stream))
    print("service: port on UART%d at %d baud" % (sc["uart"], sc["baud"]))
    return svc

