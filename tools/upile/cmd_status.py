"""`upile status`: one screen about a pile (version, slots and trial state, OTA state and last
events, ports and sessions, pending bills, link, free heap and flash); `--json` for scripts.

The running app answers on its console channel (firmware/proto/maint/console.py): nothing is
interrupted, charging goes on. Only when the app does not answer (stopped at the REPL, older
firmware) is the board read in the raw REPL, which stops a running app; stderr says so, and
the board is soft-reset afterwards so the pile goes back to work (`--no-restart` leaves it at
the REPL).
"""
import json
import re

from upile import appchan, devcode
from upile.device import read_running

VIA_APP = "app"  # st["via"]: read through the running app's console channel
VIA_REPL = "raw REPL"
_PENDING = re.compile(r"\bpending=(\d+)\b")


def add_arguments(p):
    p.add_argument("--port", required=True, help="serial device, socket://host:port, or `sim`")
    p.add_argument("--json", action="store_true", help="print the status as one JSON document")
    p.add_argument("--no-restart", action="store_true",
                   help="if the app does not answer and the raw REPL is used: leave the board at the REPL afterwards")


def from_app(ch, first_timeout):
    """The status through the app's channel: `status json` and the pending bills."""
    st = json.loads("".join(appchan.streamed(ch.ok("status json", first_timeout))))
    r = ch.request("bills json")
    if r[0].startswith("ok "):
        m = _PENDING.search(r[0])
        st["bills"] = {"pending": int(m.group(1)) if m else len(r) - 1,
                       "oldest": [json.loads(line[3:]) for line in r[1:]]}
    else:  # no charging on this pile: say why, as other parts do
        st["bills"] = {"error": r[0]}
    st["via"] = VIA_APP
    return st


def from_repl(d):
    st = d.json(devcode.STATUS)
    st["via"] = VIA_REPL
    return st


def read_status(port, restart=True):
    return read_running(port, from_app, from_repl, restart=restart, what="reading the status")


def _kib(n):
    return "%d KiB" % (n // 1024) if isinstance(n, int) else "?"


def _val(v):
    if isinstance(v, dict) and "error" in v:
        return "n/a (%s)" % v["error"]
    return "n/a" if v is None else v


def _bills(st):
    b = st.get("bills")
    if b is None:  # the raw REPL read: the count the app registered with firmware.diag
        b = (st.get("live") or {}).get("bills")
    if not isinstance(b, dict) or "pending" not in b:
        return "bills         %s" % (_val(b) if isinstance(b, dict) and "error" in b else "n/a")
    out = "bills         %d pending" % b["pending"]
    oldest = b.get("oldest") or []
    for x in oldest:
        out += "\n  id %s port %s: %s mWh, %s fen, %s/%s" % (x.get("id"), x.get("port"), x.get("energy_mwh"),
                                                          x.get("fen"), x.get("reason"), x.get("cause"))
    if len(oldest) < b["pending"] and oldest:
        out += "\n  (%d more)" % (b["pending"] - len(oldest))
    return out


def render(st):
    lines = []
    mp = st.get("micropython") or {}
    lines.append("uPile %s on %s (MicroPython %s, %s)" % (
        _val(st.get("version")), mp.get("platform", "?"), mp.get("release", "?"), mp.get("machine", "?")))
    lines.append("running slot  %s   reset cause: %s" % (_val(st.get("running_slot")), _val(st.get("reset_cause"))))
    ota = st.get("ota")
    if isinstance(ota, dict) and "error" not in ota:
        lines.append("ota state     " + ", ".join("%s=%s" % (k, json.dumps(v)) for k, v in sorted(ota.items())))
    else:
        lines.append("ota state     %s" % _val(ota))
    meta = (ota.get("slots") if isinstance(ota, dict) else None) or {}
    slots = st.get("slots") if isinstance(st.get("slots"), dict) and "error" not in st["slots"] else {}
    for name in sorted(set(meta) | set(slots)):
        m, s = meta.get(name) or {}, slots.get(name) or {}
        role = ("active" if ota.get("active") == name else "pending" if ota.get("pending") == name else "spare") \
            if isinstance(ota, dict) else "?"
        lines.append("slot %s        %-7s version %s, counter %s, %s" % (
            name, role, m.get("version") or s.get("version") or "?", m.get("counter", s.get("counter", "?")),
            "pinned" if m.get("pin") else "not pinned (factory slot until the app adopts it)"))
    heap, fl = st.get("heap") or {}, st.get("flash") or {}
    lines.append("heap          %s free, %s used" % (_kib(heap.get("free")), _kib(heap.get("used"))))
    lines.append("flash         %s free of %s" % (_kib(fl.get("free")), _kib(fl.get("total"))))
    live = st.get("live")
    if isinstance(live, dict) and live:
        for name in sorted(live):
            if name == "bills":
                continue  # its own line below
            lines.append("%-13s %s" % (name, json.dumps(live[name], sort_keys=True)))
    else:
        lines.append("ports/link    n/a (the app was not running or registered nothing with firmware.diag)")
    lines.append(_bills(st))
    events = st.get("ota_events")
    if isinstance(events, list) and events:
        lines.append("last ota/boot events:")
        lines += ["  " + e for e in events]
    lines.append("read through  " + ("the running app (nothing interrupted)" if st.get("via") == VIA_APP
                                     else "the raw REPL (the app was not running or did not answer)"))
    return "\n".join(lines)


def run(args):
    st = read_status(args.port, restart=not args.no_restart)
    print(json.dumps(st, indent=2, sort_keys=True) if args.json else render(st))
    return 0
