"""App slot files checked against their pinned index: the I/O step of the boot (boot.py
verifies a slot before any of its code runs) and of an OTA install (the slot is verified
again right before it is set pending).

A slot is /slots/<a|b>: the compiled app plus `files.idx` (one line "sha256hex size offset
path" per file: the release's signed index.txt) and the release envelope. The index's
SHA-256 is the slot's pin, kept in the boot state (lib/bootstate.py); every file is hashed
against the index and extra files fail too. Lives in /lib, outside the slots. Knows
nothing of the boot state: callers pass the pin.
"""
import os
from binascii import hexlify

SLOTS = "/slots/"
INDEX = "files.idx"
ENVELOPE = "manifest.dsse.json"
_buf = None


def other(slot):
    return "b" if slot == "a" else "a"


def slot_dir(slot):
    return SLOTS + slot


def buffer():
    """The one 1 KiB I/O buffer for slot checks and OTA downloads (made on first use,
    then kept: a long-running heap may lack the contiguous block later, and a second
    buffer would cost its size at the update's peak)."""
    global _buf
    if _buf is None:
        _buf = bytearray(1024)
    return _buf


def hash_file(path, size_limit=None):
    """(sha256 bytes, size) of a file read in pieces of buffer(); None if it cannot be read."""
    import hashlib

    buf = buffer()
    h = hashlib.sha256()
    n = 0
    mv = memoryview(buf)
    try:
        with open(path, "rb") as f:
            while True:
                k = f.readinto(buf)
                if not k:
                    break
                h.update(mv[:k])
                n += k
                if size_limit is not None and n > size_limit:
                    return None
    except OSError:
        return None
    return h.digest(), n


def env_sha(env):
    """Hex sha256 of a release envelope: how the boot state names the release in a slot."""
    import hashlib

    return hexlify(hashlib.sha256(env).digest()).decode()


def index_lines(slot):
    """Yield (sha_hex, size, offset, path) for every file of the slot's index (streamed)."""
    with open(slot_dir(slot) + "/" + INDEX) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 3)
            if len(parts) != 4:
                raise ValueError("bad index line")
            yield parts[0], int(parts[1]), int(parts[2]), parts[3]


def _count_files(d, top=True):
    n = 0
    for ent in os.ilistdir(d):
        name, kind = ent[0], ent[1]
        if kind == 0x4000:
            n += _count_files(d + "/" + name, False)
        elif not top or name not in (INDEX, ENVELOPE):  # the slot's own index and envelope
            n += 1
    return n


def verify_slot(slot, pin):
    """None when every file of the slot matches its pinned index, else the reason."""
    if not pin:
        return "no pinned index"
    d = slot_dir(slot)
    got = hash_file(d + "/" + INDEX, 1 << 20)
    if got is None:
        return "index missing"
    if hexlify(got[0]).decode() != pin:
        return "index does not match its pin"
    count = 0
    lines = index_lines(slot)
    try:
        for sha, size, _, path in lines:
            got = hash_file(d + "/" + path, size)
            if got is None or got[1] != size:
                return "missing or wrong size: " + path
            if hexlify(got[0]).decode() != sha:
                return "sha256 mismatch: " + path
            count += 1
        extra = _count_files(d) - count
    except (OSError, ValueError) as e:
        return "unreadable slot: %s" % (e,)
    finally:
        lines.close()  # the index file closes now, not in a garbage collection
    if extra:
        return "%d files not in the manifest" % extra
    return None
