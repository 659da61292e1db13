"""A factory slot's first boot: check its signed manifest and pin it, as an OTA install
would. Run once at start-up (firmware/ota/service.py), then dropped from the heap."""
import slotcheck
import thisboot


def pin(keyring, product, check, limits=None):
    """Pin a factory slot that runs unpinned: check its signed manifest, its files.idx
    against the index the manifest signs, and every file.

    `check` is manifest.check. Returns None when pinned (or nothing to do), else a reason.
    """
    st = thisboot.read_state()
    slot = thisboot.selected
    if st is None or slot is None:
        return None
    if ((st.get("slots") or {}).get(slot) or {}).get("pin"):
        return None
    d = slotcheck.slot_dir(slot)
    try:
        with open(d + "/" + slotcheck.ENVELOPE, "rb") as f:
            env = f.read()
    except OSError:
        return "no signed manifest in slot " + slot
    payload = check(env, keyring, product=product, installed_counter=-1, now=None, limits=limits)
    if payload.get("kind") != "app":
        return "slot manifest is not an app release"
    pin = payload["index"]["sha256"]
    from firmware.ota import index

    try:
        with open(d + "/" + slotcheck.INDEX, "rb") as f:  # the factory writes the signed index
            index.check_index(f, payload)
    except OSError:
        return "no index in slot " + slot
    err = slotcheck.verify_slot(slot, pin)
    if err:
        return err
    import bootstate  # the state's writer (the caller drops it again)

    bootstate.pin_slot(slot, {"pin": pin, "counter": payload["counter"], "version": payload.get("version"),
                              "env": slotcheck.env_sha(env)})
    return None
