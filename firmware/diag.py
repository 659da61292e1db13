"""What the running pile tells `upile status`: a registry of small status callables, and the
whole report built from them.

Each domain registers one callable when it starts (`diag.register("ports", pile.status)`).
The app serves report() on its console channel (`status json`, firmware/proto/maint), so
the pile is read while it runs; when the app does not answer, `upile status` interrupts it
into the raw REPL, where the objects are still alive, and calls snapshot(). Nothing here
runs unless asked, so it costs the pile nothing. report() has the keys of the host's
raw-REPL fallback (tools/upile/devcode.py STATUS), which must work on firmware without
this module: the two are kept equal by tests/device/test_console.py.
"""
from micropython import const

_MANIFEST_MAX = const(4096)  # a slot manifest signs the index's hash only: a few hundred bytes
_CAUSES = {1: "power-on", 2: "hard", 3: "watchdog", 4: "deepsleep", 5: "soft"}
_providers = {}


def register(name, fn):
    """fn() -> JSON-able value describing one part of the pile (ports, link, ota...)."""
    _providers[name] = fn


def unregister(name):
    _providers.pop(name, None)


def _error(e):
    return {"error": "%s: %s" % (type(e).__name__, e)}


def snapshot():
    out = {}
    for name, fn in _providers.items():
        try:
            out[name] = fn()
        except Exception as e:  # noqa: BLE001  one broken provider must not hide the others
            out[name] = _error(e)
    return out


def _micropython():
    import sys

    i = sys.implementation
    return {"release": "%d.%d.%d" % i.version[:3], "machine": getattr(i, "_machine", "?"), "platform": sys.platform}


def _running_slot():
    import sys

    for p in sys.path:
        if p.startswith("/slots/"):
            return p.split("/")[2]
    return None


def _ota_state():
    import thisboot

    return thisboot.read_state()


def _slot(d):
    """{'files': n, 'version', 'counter'} of one slot folder from its signed manifest, or None."""
    import os

    try:
        names = [e[0] for e in os.ilistdir(d)]
    except OSError:
        return None
    info = {"files": len(names)}
    for n in names:
        if not n.startswith("manifest"):
            continue
        try:
            if os.stat(d + "/" + n)[6] > _MANIFEST_MAX:
                raise ValueError("larger than %d bytes" % _MANIFEST_MAX)
            import binascii
            import json

            with open(d + "/" + n) as f:
                env = json.loads(f.read())
            p = json.loads(binascii.a2b_base64(env["payload"]))
            info["version"] = p.get("version")
            info["counter"] = p.get("counter")
        except (OSError, ValueError, KeyError, TypeError):
            info["manifest"] = "unreadable"
    return info


def _slots():
    out = {}
    for s in ("a", "b"):
        info = _slot("/slots/" + s)
        if info is not None:
            out[s] = info
    return out


def _reset_cause():
    from firmware.board import system

    c = system.reset_cause()
    return _CAUSES.get(c, c)


def _heap():
    import gc

    gc.collect()
    return {"free": gc.mem_free(), "used": gc.mem_alloc()}


def _flash():
    import os

    st = os.statvfs("/")
    return {"free": st[0] * st[3], "total": st[0] * st[2]}


def report(version):
    """Everything `upile status --json` shows but the log's OTA lines (the command adds
    them, reading the log without holding the loop). A part that fails is an {'error'}."""
    r = {"version": version}
    for key, fn in (("micropython", _micropython), ("running_slot", _running_slot), ("ota", _ota_state),
                    ("slots", _slots), ("reset_cause", _reset_cause), ("flash", _flash), ("live", snapshot),
                    ("heap", _heap)):
        try:
            r[key] = fn()
        except Exception as e:  # noqa: BLE001  same rule as snapshot(): the others still show
            r[key] = _error(e)
    return r
