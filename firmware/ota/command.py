"""`ota` on the service port (firmware/service.py): `ota status` and `ota check`, so a field
engineer can see the update state and ask for a check at once without the backend."""
import thisboot
from firmware import ota, service
from firmware.service import CmdError

_USAGE = "ota <status|check>"
_STATUS_KEYS = (("slot", "slot"), ("trial", "trial"), ("active", "active"), ("pending", "pending"),
                ("version", "version"), ("counter", "counter"), ("phase", "phase"), ("result", "result"),
                ("last", "last"), ("rolled_back", "rolled_back"))


def status():
    """Dict of what `ota status` prints (also handy for diag)."""
    st = thisboot.read_state() or {}
    act = st.get("active")
    meta = (st.get("slots") or {}).get(thisboot.selected or act) or {}
    o = ota.current()
    d = {"slot": thisboot.selected, "trial": thisboot.trial, "active": act, "pending": st.get("pending"),
         "version": meta.get("version"), "counter": st.get("counter"),
         "phase": o.phase if o else "off", "result": o.last_result if o else None,
         "rolled_back": ",".join(str(c) for c in st.get("rolled_back") or ()) or None}
    if o and o.last_event:
        k, r, v = o.last_event
        d["last"] = "%s/%s/%s" % (k, r or "-", v or "-")
    return d


def handle(svc, args):
    if len(args) != 1 or args[0] not in ("status", "check"):
        raise CmdError("bad_args", "usage: " + _USAGE)
    if args[0] == "status":
        return service.kv(status(), _STATUS_KEYS)
    o = ota.current()
    if o is None:
        raise CmdError("no_ota", "the OTA service is not running")
    if not o.cfg["url"]:
        raise CmdError("no_url", "ota.url is not configured")
    if o.busy:
        return "check busy phase=%s" % o.phase
    o.request_check()
    return "check requested"


def register():
    service.register("ota", handle, _USAGE)
