"""`upile status`: one screen about a pile (version, slots and trial state, OTA state and last
events, ports and sessions, link, free heap and flash); `--json` for scripts.

Reading the board stops the app for a moment (raw REPL, as any mpremote session); the board is
soft-reset afterwards so the pile goes back to work (`--no-restart` leaves it at the REPL).
"""
import json

from upile import devcode
from upile.device import Device


def add_arguments(p):
    p.add_argument("--port", required=True, help="serial device, socket://host:port, or `sim`")
    p.add_argument("--json", action="store_true", help="print the status as one JSON document")
    p.add_argument("--no-restart", action="store_true", help="leave the board at the REPL afterwards")


def read_status(port, restart=True):
    with Device(port) as d:
        d.restart = restart
        return d.json(devcode.STATUS)


def _kib(n):
    return "%d KiB" % (n // 1024) if isinstance(n, int) else "?"


def _val(v):
    if isinstance(v, dict) and "error" in v:
        return "n/a (%s)" % v["error"]
    return "n/a" if v is None else v


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
            lines.append("%-13s %s" % (name, json.dumps(live[name], sort_keys=True)))
    else:
        lines.append("ports/link    n/a (the app was not running or registered nothing with firmware.diag)")
    events = st.get("ota_events")
    if isinstance(events, list) and events:
        lines.append("last ota/boot events:")
        lines += ["  " + e for e in events]
    return "\n".join(lines)


def run(args):
    st = read_status(args.port, restart=not args.no_restart)
    print(json.dumps(st, indent=2, sort_keys=True) if args.json else render(st))
    return 0
