"""`upile csms`: the bench CSMS for field engineers (docs/ocpp.md "upile csms").

Serves OCPP 1.6J on ws:// (or wss:// with a test CA it makes with `cryptography`), prints
one line per message a pile sends, and takes commands on stdin:
  piles                                      connected piles: status, firmware, connectors
  start <id> <port> <tag> [kind amount]      remote start with an e-bike budget (time min,
                                             energy Wh, money fen; default: until full)
  stop <id> <transactionId>                  remote stop
  tx <id>                                    transactions: meter start/stop, values, reason
  get <id> [key ...]                         GetConfiguration
  set <id> <key> <value>                     ChangeConfiguration
  reset <id> soft|hard                       Reset
  call <id> <Action> <json payload>          any CALL
  quit
"""
import json
import shlex
import sys
import threading
import time
from pathlib import Path

from upile.errors import UserError


def add_arguments(p):
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for the LAN)")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--tls", type=Path, metavar="DIR",
                   help="serve wss:// with a test CA kept in DIR (made on first use; give the pile DIR/ca.der)")
    p.add_argument("--tls-host", default="localhost", help="the host name in the test server certificate")
    p.add_argument("--client-cert", action="store_true", help="demand a charge point certificate (profile 3)")
    p.add_argument("--password", action="append", default=[], metavar="ID=HEX",
                   help="demand HTTP Basic for charge point ID with AuthorizationKey HEX (profiles 1, 2)")
    p.add_argument("--known", help="comma-separated charge point ids; others get HTTP 404")


def _piles(c):
    out = []
    for cid, p in sorted(c.piles.items()):
        fw = p.boot.get("firmwareVersion") if p.boot else "-"
        conns = " ".join("%s=%s" % (k, v[0]) for k, v in sorted(p.status.items()))
        out.append("%s %s firmware=%s %s" % (cid, "connected" if p.connected else "offline", fw, conns))
    return out or ["no piles yet"]


def _tx(c, cid):
    out = []
    for txid, t in sorted(c.transactions(cid).items()):
        s, e = t["start"], t["stop"]
        line = "tx %d connector %s idTag %s meterStart %s" % (txid, s["connectorId"], s["idTag"], s["meterStart"])
        if e:
            line += " meterStop %s (%d Wh) reason %s" % (e["meterStop"], e["meterStop"] - s["meterStart"],
                                                       e.get("reason", "Local"))
        else:
            line += " running"
        out.append(line + ", %d meter values" % len(t["values"]))
    return out or ["no transactions"]


def command(c, line):
    """Run one command line; returns the lines to print."""
    w = shlex.split(line)
    if not w:
        return []
    op, a = w[0], w[1:]
    if op == "piles":
        return _piles(c)
    if op == "start" and len(a) in (3, 5):
        kind, amount = (a[3], int(a[4])) if len(a) == 5 else ("full", 0)
        return ["RemoteStartTransaction: %s" % c.start(a[0], int(a[1]), a[2], kind, amount)]
    if op == "stop" and len(a) == 2:
        return ["RemoteStopTransaction: %s" % c.stop(a[0], int(a[1]))]
    if op == "tx" and len(a) == 1:
        return _tx(c, a[0])
    if op == "get" and a:
        vals, unknown = c.get_config(a[0], a[1:] or None)
        return ["%s = %s" % (k, v) for k, v in sorted(vals.items())] + ["unknown: %s" % k for k in unknown]
    if op == "set" and len(a) == 3:
        return ["ChangeConfiguration: %s" % c.set_config(a[0], a[1], a[2])]
    if op == "reset" and len(a) == 2 and a[1] in ("soft", "hard"):
        return ["Reset: %s" % c.call(a[0], "Reset", {"type": a[1].capitalize()})["status"]]
    if op == "call" and len(a) == 3:
        return [json.dumps(c.call(a[0], a[1], json.loads(a[2])))]
    return ["? " + __doc__.split("stdin:", 1)[1].rstrip()]


def run(args):
    from upile.csms import Csms, CsmsCallError
    from upile.csms import pki
    from upile.csms.show import Follower

    ssl = None
    if args.tls:
        if not (args.tls / "server.pem").exists():
            pki.make(args.tls, host=args.tls_host)
        ssl = pki.server_context({"server": args.tls / "server.pem", "server_key": args.tls / "server.key.pem",
                                  "cpca": args.tls / "cpca.pem"}, client_ca=args.client_cert)
    passwords = None
    if args.password:
        passwords = {}
        for item in args.password:
            cid, _, hexkey = item.partition("=")
            try:
                passwords[cid] = bytes.fromhex(hexkey)
            except ValueError:
                raise UserError("--password %s: the key must be hex" % cid)
    known = set(args.known.split(",")) if args.known else None
    c = Csms(args.port, args.host, ssl=ssl, passwords=passwords, known=known)
    try:
        c.start_server()
    except OSError as e:
        raise UserError("cannot listen on %s:%d: %s" % (args.host, args.port, e.strerror or e))
    print("bench CSMS on %s/<charge point id>%s (type a command, or quit)" % (
        c.url, "; pile's ocpp.ca: %s" % (args.tls / "ca.der") if args.tls else ""), flush=True)
    stop = threading.Event()

    def follow():
        f = Follower(c)
        while not stop.is_set():
            for s in f.poll():
                print(time.strftime("%H:%M:%S ") + s, flush=True)
            time.sleep(0.2)

    threading.Thread(target=follow, daemon=True).start()
    try:
        for line in sys.stdin:
            if line.strip() in ("quit", "exit"):
                break
            try:
                for out in command(c, line):
                    print(out, flush=True)
            except (CsmsCallError, TimeoutError, ConnectionError, KeyError, ValueError) as e:
                print("error: %s" % (e,), flush=True)
    finally:
        stop.set()
        c.close()
    return 0
