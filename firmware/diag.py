"""What the running pile tells `upile status`: a registry of small status callables.

Each domain registers one callable when it starts (`diag.register("ports", pile.status)`);
`upile status` interrupts the app into the raw REPL, where the objects are still alive, and
calls snapshot(). Nothing here runs unless asked, so it costs the pile nothing.
"""
_providers = {}


def register(name, fn):
    """fn() -> JSON-able value describing one part of the pile (ports, link, ota...)."""
    _providers[name] = fn


def unregister(name):
    _providers.pop(name, None)


def snapshot():
    out = {}
    for name, fn in _providers.items():
        try:
            out[name] = fn()
        except Exception as e:  # noqa: BLE001  one broken provider must not hide the others
            out[name] = {"error": "%s: %s" % (type(e).__name__, e)}
    return out
