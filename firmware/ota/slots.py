"""App slot files: the spare slot's tree, its index, copies that re-check hashes.

The boot state itself (which slot is active/pending, pins, counters) belongs to
lib/bootstate.py, which lives outside the slots; this module only prepares slot contents
and keeps the download's progress record.
"""
import os
from binascii import unhexlify

import slotcheck
import fsatomic

PROGRESS = "/ota/progress.json"


def read_progress():
    """The download in progress ({"env", "kind", "done", ...}) or None."""
    try:
        return fsatomic.read_json(PROGRESS)
    except fsatomic.Corrupt:
        return None


def clear_progress():
    fsatomic.remove(PROGRESS)


def parent_dirs(slot, path):
    i = path.rfind("/")
    if i > 0:
        fsatomic.mkdirs(slotcheck.slot_dir(slot) + "/" + path[:i])


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
        remove_file(dst)
        return False
    if h.digest() != unhexlify(sha_hex):
        remove_file(dst)
        return False
    return True


def remove_file(p):
    """Remove p if it exists (a partial or wrong file); no error if it does not."""
    try:
        os.remove(p)
    except OSError:
        pass
