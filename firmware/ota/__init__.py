"""Over-the-air updates: manifest checks (manifest.py), trusted keys (keys.py), and the rest."""

# The engine's public face (owner: OTA). The app starts it once; others call these.
_service = None
_push = None  # the push sink while a back end pushes a release (firmware/ota/push.py)


class FetchError(Exception):
    """A download attempt failed: args = (reason, detail). `transient` tells the policy
    whether a retry may help. Here, not in fetcher.py, so the service can catch it while
    the download code is not loaded."""

    def __init__(self, reason, detail="", transient=True):
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail
        self.transient = transient


def start(cfg, idle=None, on_event=None, net_ok=None, on_healthy=None, spawn=True):
    """Start the OTA service (firmware/ota/service.py) on the running event loop.
    idle() -> True when no port charges (installs wait for it); on_healthy() runs once per
    boot when the app is judged healthy (backend reached or ota.health_s without a crash)."""
    global _service
    from firmware.board import system
    from firmware.ota.service import Ota

    _service = Ota(cfg, idle=idle, on_event=on_event, net_ok=net_ok, system=system, on_healthy=on_healthy).start(spawn)
    return _service


def current():
    """The running OTA service (firmware/ota/service.Ota) or None."""
    return _service


def confirm_healthy():
    """One call for the app: the running trial slot or image is healthy; keep it."""
    if _service is not None:
        return _service.confirm_healthy()
    import bootstate
    import thisboot

    done = bootstate.confirm()
    bootstate = None
    forget("bootstate")
    if done:
        from firmware.ota.service import confirmed_line

        st = thisboot.read_state() or {}
        confirmed_line((st.get("slots", {}).get(thisboot.selected) or {}).get("version"), thisboot.selected)
    return done


def backend_reached():
    """The protocol layer reached the backend (the default health condition)."""
    if _service is not None:
        _service.backend_reached()


def request_check(url=None, request_id=None):
    """Check for a release now (backend command), optionally at another release URL."""
    if _service is not None:
        _service.request_check(url, request_id)


def push_sink():
    """The push-fed sink for a release a back end sends in pieces (DNY's in-band update;
    firmware/ota/push.py): the transfer in progress, or a new one that resumes what a power
    cut interrupted. Its put(offset, bytes) -> bytes held (PushError when refused),
    install() when complete, pause() when the sender went quiet; push_done() drops it."""
    global _push
    if _service is None:
        raise FetchError("no_ota", "the OTA service is not running", False)
    if _push is None:
        from firmware.ota.push import Push

        _push = Push(_service)
    return _push


def push_done():
    """The push is over (installed, refused or abandoned): its code leaves the heap."""
    global _push
    if _push is not None:
        _push.pause()
        _push = None
    forget("firmware.ota.push", "firmware.ota.container", "firmware.ota.prepare", "firmware.ota.index", "firmware.ota.fields",
           "firmware.ota.image", "firmware.ota.download", "firmware.ota.slots")


PAYLOAD_TYPE = "application/vnd.upile.manifest+json"


def signed_payload(envelope, keyring, lim):
    """The payload bytes of a release envelope signed by lim["threshold"] trusted keys
    (lim: manifest.merged()). Raises dsse.DsseError(reason, detail): too_large,
    bad_envelope, bad_signature. Here, not in manifest.py, so the service can check the
    signature with only the crypto in the heap and the payload's fields afterwards."""
    import dsse

    return dsse.verify(envelope, keyring, lim["threshold"], PAYLOAD_TYPE, lim["max_envelope"])[1]


# What each phase of an update loads and drops afterwards (firmware/ota/service.py):
CHECK_CODE = ("firmware.ota.manifest", "firmware.ota.fields", "dsse", "ed25519", "sha512")
DOWNLOAD_CODE = ("firmware.ota.download", "firmware.ota.prepare", "firmware.ota.image", "firmware.ota.installer",
                 "firmware.ota.index", "firmware.ota.slots", "firmware.ota.fetcher", "http", "netconn",
                 "bootstate")


def forget(*names):
    """Drop modules from the heap until they are imported again: a slot's .mpy bytecode
    lives in RAM, and an update needs the download code, the signature code and the HTTP
    client at different times, never all at once. Submodules of this package are also
    unbound from it (the package keeps a reference otherwise)."""
    import sys

    g = globals()
    for n in names:
        if n in sys.modules:
            del sys.modules[n]
        if n.startswith("firmware.ota."):
            g.pop(n[13:], None)
