"""Over-the-air updates: manifest checks (manifest.py), trusted keys (keys.py), and the rest."""

# The engine's public face (owner: OTA). The app starts it once; others call these.
_service = None


def start(cfg, idle=None, on_event=None, net_ok=None):
    """Start the OTA service (firmware/ota/service.py) on the running event loop."""
    global _service
    from firmware.board import system
    from firmware.ota.service import Ota

    _service = Ota(cfg, idle=idle, on_event=on_event, net_ok=net_ok, system=system).start()
    return _service


def confirm_healthy():
    """One call for the app: the running trial slot or image is healthy; keep it."""
    if _service is not None:
        return _service.confirm_healthy()
    import bootsel

    return bootsel.confirm()


def backend_reached():
    """The protocol layer reached the backend (the default health condition)."""
    if _service is not None:
        _service.backend_reached()


def request_check(url=None):
    """Check for a release now (backend command), optionally at another release URL."""
    if _service is not None:
        _service.request_check(url)
