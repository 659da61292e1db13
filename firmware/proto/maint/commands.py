"""The maintenance port's commands, each a few lines onto the command interface (station).

handler(server, args) -> reply text | (head, [lines]) | awaitable of either; a refusal is
CmdError (bad arguments) or station.Refused (the pile's reason code).
"""
from micropython import const

from firmware.proto.maint.lines import BILL_KEYS, CmdError, kv

_BILLS = const(20)  # bills listed per `bills` command (ack some, then ask again)
_TAG_MAX = const(32)
_OTA_EVENTS = const(8)  # last OTA/boot log lines in `status json`
_PIECE = const(200)  # characters per line of `status json` (17 ms at 115200 baud)
_INFO_KEYS = (("status", "status"), ("fault", "fault"), ("error", "error"), ("p_w", "p_w"), ("id", "id"),
              ("kind", "kind"), ("amount", "amount"), ("mwh", "mwh"), ("charged_s", "charged_s"), ("fen", "fen"),
              ("tier", "tier"), ("meter_wh", "meter_wh"), ("limit_w", "limit_w"))
_OTA_KEYS = (("slot", "slot"), ("trial", "trial"), ("active", "active"), ("pending", "pending"),
             ("version", "version"), ("counter", "counter"), ("phase", "phase"), ("result", "result"),
             ("last", "last"), ("rolled_back", "rolled_back"))

TABLE = {}  # name -> (handler, usage)


def _cmd(name, usage):
    def reg(fn):
        TABLE[name] = (fn, usage)
        return fn

    return reg


def _int(s, what):
    try:
        return int(s)
    except ValueError:
        raise CmdError("bad_args", "%s must be an integer, got %s" % (what, s))


def _usage(name):
    return CmdError("bad_args", "usage: " + TABLE[name][1])


def _port_arg(args, name, nmin, nmax):
    if not nmin <= len(args) <= nmax:
        raise _usage(name)
    return _int(args[0], "port")


def _station(srv):
    if srv.station is None:
        raise CmdError("no_pile", "charging is not running")
    return srv.station


@_cmd("help", "help")
def _help(srv, args):
    return " ".join(sorted(srv.table))


@_cmd("status", "status [json]")
def _status(srv, args):
    if args == ["json"]:
        return _status_json(srv)
    if args:
        raise _usage("status")
    st = srv.station
    n = st.ports() if st is not None else 0
    if not n:
        return "version=%s charging=off" % srv.version
    parts = ["version=%s ports=%d idle=%d" % (srv.version, n, 1 if st.is_idle() else 0)]
    for i in range(1, n + 1):
        parts.append("%d=%s" % (i, st.port(i)["status"]))
    return " ".join(parts)


async def _status_json(srv):
    """Everything `upile status --json` shows (firmware/diag.py) as one JSON document,
    streamed in pieces (`ok json stream=1`, the `ok | <piece>` lines joined are the text)."""
    st = _station(srv)
    d = st.report()
    d["ota_events"] = await _ota_events(st)
    return "json", _json_pieces(d, 3)


def _json_pieces(obj, depth, size=_PIECE):
    """The JSON text of `obj` in pieces of at most `size` characters. Dicts and lists are
    written one item at a time, `depth` levels down (the report, its live parts, the list of
    ports), so the heap holds the text of one item (a port), never the whole document."""
    import json

    buf = ""
    for text in _json_parts(obj, depth, json.dumps):
        buf += text
        while len(buf) >= size:
            yield buf[:size]
            buf = buf[size:]
    if buf:
        yield buf


def _json_parts(obj, depth, dumps):
    is_dict = isinstance(obj, dict)
    if depth <= 0 or not (is_dict or isinstance(obj, list)) or not obj:
        yield dumps(obj)
        return
    sep = "{" if is_dict else "["
    for x in obj:
        yield sep + (dumps(x) + ": " if is_dict else "")
        for text in _json_parts(obj[x] if is_dict else x, depth - 1, dumps):
            yield text
        sep = ", "
    yield "}" if is_dict else "]"


async def _ota_events(st):
    """The last OTA and boot lines of the persistent log, read a line at a time from flash,
    letting the other tasks run every few lines (the ring is a few KiB)."""
    import asyncio

    out = []
    n = 0
    lines = st.log_lines()
    try:
        for line in lines:
            if " ota" in line or "boot" in line:
                out.append(line)
                if len(out) > _OTA_EVENTS:
                    out.pop(0)
            n += 1
            if n % 16 == 0:
                await asyncio.sleep_ms(0)
    except OSError as e:  # the log rotated under the reader: what was read is still right
        out.append("(log unreadable: %r)" % (e,))
    finally:
        lines.close()
    return out


@_cmd("logs", "logs")
def _logs(srv, args):
    if args:
        raise _usage("logs")
    return "logs", _station(srv).log_lines()


@_cmd("start", "start <port> <time|energy|money|full> <amount> [tag]")
def _start(srv, args):
    port = _port_arg(args, "start", 2, 4)
    kind = args[1]
    if kind != "full" and len(args) < 3:
        raise _usage("start")
    amount = _int(args[2], "amount") if len(args) > 2 else 0
    tag = args[3] if len(args) > 3 else None
    if kind not in ("time", "energy", "money", "full"):
        raise CmdError("bad_args", "kind must be time, energy, money or full")
    if tag is not None and len(tag) > _TAG_MAX:
        raise CmdError("bad_args", "tag longer than %d" % _TAG_MAX)
    sid = _station(srv).start(port, kind, amount, tag, "service")
    return "id=%d port=%d" % (sid, port)


@_cmd("tap", "tap <port> <tag>")
async def _tap(srv, args):
    """A card (or code) presented at a port, as the pile's front would: it starts a session
    once the back end accepts it, or stops the session the same card (or parent) started."""
    port = _port_arg(args, "tap", 2, 2)
    if len(args[1]) > 20:
        raise CmdError("bad_args", "tag longer than 20")
    what, r = await _station(srv).tap(port, args[1])
    if what == "started":
        return "started id=%d port=%d" % (r, port)
    return "stopped " + kv(r, BILL_KEYS)


@_cmd("stop", "stop <port>")
def _stop(srv, args):
    port = _port_arg(args, "stop", 1, 1)
    return kv(_station(srv).stop(port, "Local", "service"), BILL_KEYS)


@_cmd("info", "info <port>")
def _info(srv, args):
    port = _port_arg(args, "info", 1, 1)
    return "port=%d %s" % (port, kv(_station(srv).port(port), _INFO_KEYS))


@_cmd("bills", "bills [json]")
def _bills(srv, args):
    if args and args != ["json"]:
        raise _usage("bills")
    st = _station(srv)
    if args:  # for tools: every field, one JSON object a line, and how many are pending in all
        return "bills pending=%d" % st.bills_pending(), st.pending_bills(_BILLS)
    return "bills", [kv(b, BILL_KEYS) for b in st.pending_bills(_BILLS)]


@_cmd("ack", "ack <id>")
def _ack(srv, args):
    if len(args) != 1:
        raise _usage("ack")
    sid = _int(args[0], "id")
    if not _station(srv).ack_bill(sid):
        raise CmdError("no_bill", "%d is not pending" % sid)
    return "acked id=%d" % sid


@_cmd("clear", "clear <port>")
def _clear(srv, args):
    port = _port_arg(args, "clear", 1, 1)
    return "cleared port=%d" % port if _station(srv).clear_fault(port) else "no_fault port=%d" % port


@_cmd("avail", "avail <port|0> <on|off>")
def _avail(srv, args):
    port = _port_arg(args, "avail", 2, 2)
    if args[1] not in ("on", "off"):
        raise _usage("avail")
    return "%s port=%d" % (_station(srv).set_available(port, args[1] == "on"), port)


@_cmd("limit", "limit <port|0> <watts|off>")
def _limit(srv, args):
    port = _port_arg(args, "limit", 2, 2)
    w = None if args[1] == "off" else _int(args[1], "watts")
    _station(srv).set_limit(port, w)
    return "limit port=%d w=%s" % (port, "-" if w is None else w)


@_cmd("ota", "ota <status|check>")
def _ota(srv, args):
    if len(args) != 1 or args[0] not in ("status", "check"):
        raise _usage("ota")
    st = _station(srv)
    if args[0] == "status":
        return kv(st.update_status(), _OTA_KEYS)
    st.request_update()
    return "check requested"
