"""`upile dny-server`: a DNY (AP3000) back end on a TCP port, driven by commands on stdin.

Piles that connect are listed with their ports; starts and stops carry budgets and order
numbers; settlements are acknowledged or withheld; a release container is pushed in-band;
faults are injected. Everything it receives is printed as it comes (docs/dny.md).
"""
import sys

from upile import dnyproto as P
from upile.dnyserver import DnyServer
from upile.errors import UserError

HELP = """commands (PILE = the number under its QR code, or its physical id in hex; omit with one pile):
  piles | ports [PILE] | qr BASE [PILE]
  start [PILE] PORT|ff time|energy|full [VALUE] [ORDERHEX]   (time s, energy 0.01 kWh; ports 1-based)
  stop [PILE] PORT ORDERHEX | change [PILE] PORT time|energy VALUE | query [PILE] | reboot [PILE]
  settlements | withhold on|off | push [PILE] FILE [check] | upgrade [PILE] | raw [PILE] CMDHEX [DATAHEX]
  fault drop-out N | drop-in N | garbage N | split on|off | badsum N | slow S | dup on|off | latency MS | bps N
  quit"""


def add_arguments(p):
    p.add_argument("--port", type=int, default=8999, help="TCP port to listen on (default 8999)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--time-offset", type=int, default=0, help="seconds added to the time the server hands out")
    p.add_argument("--gap", type=float, default=0.5, help="seconds between two commands to one pile (default 0.5)")


def _pile(srv, words):
    """(physical id, remaining words): the first word names a pile when one matches."""
    if words:
        w = words[0]
        for p in srv.piles.values():
            if w in (str(p.phys & 0xFFFFFF), "%08x" % p.phys, P.wire_hex(p.phys)):
                return p.phys, words[1:]
    if len(srv.piles) == 1:
        return next(iter(srv.piles)), words
    raise UserError("name the pile (%d connected)" % len(srv.piles))


def _port(w):
    return 0xFF if w.lower() == "ff" else int(w) - 1


def command(srv, line):
    """Run one command line; returns the text to print."""
    words = line.split()
    if not words:
        return ""
    c, rest = words[0], words[1:]
    if c == "help":
        return HELP
    if c == "piles":
        return "\n".join(str(p.view()) for p in srv.piles.values()) or "no piles"
    if c == "ports":
        phys, _ = _pile(srv, rest)
        v = srv.piles[phys].view()
        return " ".join("%d=%s" % (i + 1, s) for i, s in enumerate(v["ports"] or []))
    if c == "qr":
        phys, _ = _pile(srv, rest[1:])
        base = rest[0].rstrip("/")
        n = (srv.piles[phys].reg or {}).get("ports") or 0
        lines = ["pile %s/%s/ff" % (base, P.wire_hex(phys))]
        lines += ["port %d %s/%s/%02x" % (i + 1, base, P.wire_hex(phys), i) for i in range(n)]
        return "\n".join(lines)
    if c == "settlements":
        return "\n".join(str(s) for s in srv.settlements) or "none"
    if c == "withhold":
        srv.withhold = rest[:1] == ["on"]
        return "settlements %s" % ("withheld" if srv.withhold else "acknowledged")
    if c == "fault":
        if len(rest) != 2:
            raise UserError("fault NAME VALUE")
        name = {"drop-out": "drop_out", "drop-in": "drop_in", "slow": "slow_s", "latency": "latency_ms",
                "bps": "bytes_per_s"}.get(rest[0], rest[0])
        if name not in srv.faults:
            raise UserError("no fault %s" % rest[0])
        v = rest[1]
        srv.faults[name] = v == "on" if v in ("on", "off") else (float(v) if name == "slow_s" else int(v))
        return "fault %s = %s" % (name, srv.faults[name])
    phys, rest = _pile(srv, rest)
    if c == "start":
        mode = {"time": 0, "energy": 2, "full": 0}[rest[1]]
        value = int(rest[2]) if len(rest) > 2 and rest[1] != "full" else 0
        order = bytes.fromhex(rest[3]) if len(rest) > 3 else None
        return str(srv.start_order(phys, _port(rest[0]), mode, value, order))
    if c == "stop":
        return str(srv.stop_order(phys, _port(rest[0]), rest[1]))
    if c == "change":
        mode = {"time": 0, "energy": 2}[rest[1]]
        ans = srv.cmd(phys, 0x8A, bytes((mode, _port(rest[0]))) + int(rest[2]).to_bytes(2, "little"))
        return "change: %s" % (ans.hex() if ans else "no answer")
    if c == "query":
        srv.cmd(phys, 0x81, b"", timeout=2, resends=0)
        return "queried"
    if c == "reboot":
        ans = srv.cmd(phys, 0x87)
        return "reboot: %s" % (ans.hex() if ans else "no answer")
    if c == "upgrade":
        ans = srv.cmd(phys, 0xE4)
        return "upgrade yourself: %s" % (ans.hex() if ans else "no answer")
    if c == "raw":
        ans = srv.cmd(phys, int(rest[0], 16), bytes.fromhex(rest[1]) if len(rest) > 1 else b"")
        return "answer: %s" % (ans.hex() if ans is not None else "none")
    if c == "push":
        reg = srv.piles[phys].reg or {}
        r = srv.push(phys, rest[0], check_packet="check" in rest[1:], dtype=reg.get("type") or 0,
                     version=0, progress=lambda k, code, pk: print("packet %d: %02x %d" % (k, code, pk)))
        return "push: %s" % r
    raise UserError("unknown command %s (help)" % c)


def run(args):
    srv = DnyServer(port=args.port, host=args.host, time_offset=args.time_offset, gap_s=args.gap,
                    log=lambda text: print(text, flush=True)).start()
    print("dny-server on %s:%d (help for commands)" % (args.host, srv.port), flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "quit":
                break
            try:
                out = command(srv, line)
            except (UserError, ValueError, IndexError, KeyError, OSError) as e:
                out = "error: %s" % (e,)
            if out:
                print(out, flush=True)
    finally:
        srv.close()
    return 0
