"""App slot files: the spare slot's tree, its index, copies that re-check hashes.

The boot state itself (which slot is active/pending, pins, counters) belongs to
lib/bootsel.py, which lives outside the slots; this module only prepares slot contents.
"""
import os
from binascii import unhexlify

import bootsel
import fsatomic

PROGRESS = "/ota/progress.json"


def active():
    st = bootsel.read_state()
    return st["active"] if st else None


def spare():
    """The slot a download may overwrite: never the active one nor a pending trial."""
    st = bootsel.read_state()
    if st is None:
        return None
    return bootsel.other(st["active"])


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
    d = bootsel.slot_dir(slot)
    _rmtree(d)
    fsatomic.mkdirs(d)


def parent_dirs(slot, path):
    i = path.rfind("/")
    if i > 0:
        fsatomic.mkdirs(bootsel.slot_dir(slot) + "/" + path[:i])


def file_size(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return -1


def copy_hashed(src, dst, size, sha_hex, buf):
    """Copy src to dst while hashing; True when the bytes match (dst removed otherwise)."""
    import hashlib

    if file_size(src) != size:
        return False
    h = hashlib.sha256()
    mv = memoryview(buf)
    try:
        with open(src, "rb") as fi, open(dst, "wb") as fo:
            while True:
                k = fi.readinto(buf)
                if not k:
                    break
                h.update(mv[:k])
                fo.write(mv[:k])
    except OSError:
        _remove(dst)
        return False
    if h.digest() != unhexlify(sha_hex):
        _remove(dst)
        return False
    return True


def _remove(p):
    try:
        os.remove(p)
    except OSError:
        pass


def adopt(keyring, product, check, limits=None):
    """Pin a factory slot that runs unpinned: check its signed manifest, its files.idx
    against the index the manifest signs, and every file.

    `check` is manifest.check. Returns None when pinned (or nothing to do), else a reason.
    """
    st = bootsel.read_state()
    if st is None or bootsel.selected is None:
        return None
    slot = bootsel.selected
    if (st.get("slots", {}).get(slot) or {}).get("pin"):
        return None
    d = bootsel.slot_dir(slot)
    try:
        with open(d + "/" + bootsel.ENVELOPE, "rb") as f:
            env = f.read()
    except OSError:
        return "no signed manifest in slot " + slot
    payload = check(env, keyring, product=product, installed_counter=-1, now=None, limits=limits)
    if payload.get("kind") != "app":
        return "slot manifest is not an app release"
    pin = payload["index"]["sha256"]
    from firmware.ota import index

    try:
        with open(d + "/" + bootsel.INDEX, "rb") as f:  # the factory writes the signed index
            index.check_index(f, payload)
    except OSError:
        return "no index in slot " + slot
    err = bootsel.verify_slot(slot, pin)
    if err:
        return err
    st = bootsel.read_state()
    st.setdefault("slots", {})[slot] = {"pin": pin, "counter": payload["counter"], "version": payload.get("version"),
                                          "env": bootsel.env_sha(env)}
    st["counter"] = max(st.get("counter", 0), payload["counter"])
    bootsel.write_state(st)
    return None
