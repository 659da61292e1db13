"""The update state in one dict, for the command interface (`ota status` on the maintenance
port, a back end's firmware status). Its own module: firmware/ota/__init__.py is in the heap
during an update, and every name here would be a qstr there (never freed; a new qstr pool
costs ~4 KB at once: docs/ota.md "Memory")."""


def status():
    """The update state in one dict: slot, trial, boot state, the service's phase and last
    event (`ota status` on the maintenance port, the command interface's update_status)."""
    import thisboot

    st = thisboot.read_state() or {}
    act = st.get("active")
    meta = (st.get("slots") or {}).get(thisboot.selected or act) or {}
    from firmware import ota

    o = ota.current()
    d = {"slot": thisboot.selected, "trial": thisboot.trial, "active": act, "pending": st.get("pending"),
         "version": meta.get("version"), "counter": st.get("counter"),
         "phase": o.phase if o else "off", "result": o.last_result if o else None,
         "rolled_back": ",".join(str(c) for c in st.get("rolled_back") or ()) or None}
    if ota._push is not None:
        p = ota._push
        d["push"] = "%s %d/%s" % (p.state, p.pos, p.size)
    else:
        import os

        try:
            os.stat("/ota/push.json")  # push.PROGRESS: a pushed release a power cut interrupted
            d["push"] = "interrupted"
        except OSError:
            pass
    if o and o.last_event:
        k, r, v = o.last_event
        d["last"] = "%s/%s/%s" % (k, r or "-", v or "-")
    return d
