"""The install step: a downloaded, verified release becomes the next boot's (the caller
then resets). An app slot is verified once more and set pending for its trial boots; an
image partition is handed to the bootloader with set_boot(). Loaded only for this step."""
import bootsel
from firmware.ota import FetchError, slots


def install(ready, meta, env_hex, max_trials, wdt_ms):
    """Switch to the downloaded release at the next boot (the caller then resets)."""
    meta = {"pin": ready.get("pin"), "counter": meta["counter"], "version": meta.get("version"), "env": env_hex}
    if ready["kind"] == "app":
        err = bootsel.verify_slot(ready["slot"], ready["pin"])  # once more, right before switching
        if err:
            slots.clear_progress()
            raise FetchError("verify_failed", err)
        bootsel.set_pending(ready["slot"], meta, max_trials)
        st = bootsel.read_state()
        st["wdt_ms"] = wdt_ms
        bootsel.write_state(st)
    else:
        try:
            ready["part"].set_boot()  # the bootloader validates the image here
        except OSError as e:
            slots.clear_progress()
            raise FetchError("set_boot", repr(e), False)
        st = bootsel.read_state() or {"active": "a"}
        meta["label"] = ready["label"]
        st["image"] = meta
        bootsel.write_state(st)
    slots.clear_progress()
