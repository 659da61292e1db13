"""The install step: a downloaded, verified release becomes the next boot's (the caller
then resets). An app slot is verified once more and set pending for its trial boots; an
image partition is handed to the bootloader with set_boot(). Loaded only for this step.
The boot state changes through its owner, lib/bootstate.py."""
import bootstate
import slotcheck
from firmware.ota import FetchError, slots


def install(ready, meta, env_hex, max_trials, wdt_ms):
    """Switch to the downloaded release at the next boot (the caller then resets)."""
    meta = {"pin": ready.get("pin"), "counter": meta["counter"], "version": meta.get("version"), "env": env_hex}
    if ready["kind"] == "app":
        err = slotcheck.verify_slot(ready["slot"], ready["pin"])  # once more, right before switching
        if err:
            slots.clear_progress()
            raise FetchError("verify_failed", err)
        bootstate.set_pending(ready["slot"], meta, max_trials, wdt_ms)
    else:
        try:
            ready["part"].set_boot()  # the bootloader validates the image here
        except OSError as e:
            slots.clear_progress()
            raise FetchError("set_boot", repr(e), False)
        meta["label"] = ready["label"]
        bootstate.image_pending(meta)
    slots.clear_progress()
