"""The first step of an app download: the spare slot gets the release's index.txt as
files.idx (its sha256, signed in the manifest, becomes the slot's pin), checked line by
line (index.py), and the signed envelope; then the progress record starts. A download
that resumes skips all of it. Loaded for this step only (fetcher.Fetcher.download_app
drops it), so the file loop after it (download.py, whose fetch_file this step uses) runs
without this code, the index check or its rules in the heap.
"""
import os

import fsatomic
import slotcheck
import thisboot
from firmware.ota import FetchError, download, forget, slots


def spare():
    """The slot a download may overwrite: never the active one nor a pending trial."""
    st = thisboot.read_state()
    if st is None:
        return None
    return slotcheck.other(st["active"])


def _rmtree(d):
    try:
        entries = list(os.ilistdir(d))
    except OSError:
        return
    for ent in entries:
        p = d + "/" + ent[0]
        if ent[1] == 0x4000:
            _rmtree(p)
            try:
                os.rmdir(p)
            except OSError:
                pass
        else:
            os.remove(p)


def wipe(slot):
    d = slotcheck.slot_dir(slot)
    _rmtree(d)
    fsatomic.mkdirs(d)


async def prepare_app(src, ebox, env_hex, payload):
    """Fetch the release's index.txt as the spare slot's files.idx (hash = the signed
    index sha256, which becomes the slot's pin) and check it line by line."""
    src.buf = slotcheck.buffer()
    slot = spare()
    if slot is None:
        raise FetchError("no_state", "no boot state: provision the device", False)
    prog = slots.read_progress()
    if prog and prog.get("env") == env_hex and prog.get("slot") == slot and prog.get("kind") == "app":
        return slot, prog
    slots.clear_progress()
    wipe(slot)
    spec = payload["index"]
    dst = slotcheck.slot_dir(slot) + "/" + slotcheck.INDEX
    await download.fetch_file(src, dst, 0, spec["size"], spec["sha256"], "index.txt")
    forget("http", "netconn")  # the index check gets the HTTP client's heap; the next fetch reloads it
    from firmware.ota import index

    try:
        with open(dst, "rb") as f:
            index.check_index(f, payload)
    except index.ManifestError as e:  # signed, so a retry cannot help
        raise FetchError(e.reason, e.detail, False)
    finally:
        index = None
        forget("firmware.ota.index", "firmware.ota.fields")  # not needed for the files
    with open(slotcheck.slot_dir(slot) + "/" + slotcheck.ENVELOPE, "wb") as f:
        f.write(ebox[0])
    prog = {"env": env_hex, "kind": "app", "slot": slot, "done": 0, "pin": spec["sha256"]}
    fsatomic.write_json(slots.PROGRESS, prog)
    return slot, prog
