"""Download of a verified app release into the spare slot.

The release's index.txt (signed by size and sha256 in the manifest) is fetched as the
spare slot's files.idx and checked line by line by the first step, prepare.py (which uses
fetch_file below; fetcher.Fetcher.download_app runs the two steps); then every file it
lists is taken from the running slot when its bytes hash to the index's sha256 (copied
while re-hashing), otherwise fetched with a Range request into bundle.bin, in pieces of
the slot check's buffer (lib/slotcheck.py) through SHA-256. Progress is persisted
(slots.read_progress); a resume re-hashes what flash already holds and continues with a
Range request, so completed files are never fetched again. Nothing here switches slots:
installer.py does, after the whole slot verified. Images: image.py.

Loaded only for an app download (and dropped again with firmware.ota.forget), so this code
is not in the heap while a manifest's signature is checked. All chunk I/O goes through
the one 1 KiB buffer of lib/slotcheck.py, which the slot check reuses.
"""
import hashlib
from binascii import hexlify, unhexlify
from micropython import const

import fsatomic
import slotcheck
import thisboot
from firmware.ota import FetchError, slots

_SAVE_FILES = const(8)  # progress saved every this many completed files
_FLUSH = const(32)  # a partial file is flushed every 32 pieces (32 KiB): resume point on flash


class FileSink:
    """The engine's file writer: bytes appended to a slot file through SHA-256, flushed every
    32 pieces (the resume point on flash). The fetcher hands it HTTP ranges, the push sink
    (push.py) a back end's packets."""

    def __init__(self, dst, h):
        self.f = open(dst, "ab")
        self.h = h
        self.count = 0

    def __call__(self, mv):
        self.h.update(mv)
        self.f.write(mv)
        self.count += 1
        if self.count % _FLUSH == 0:
            self.f.flush()

    def close(self):
        self.f.close()


async def fetch_file(src, dst, off, size, sha_hex, name):
    """Bytes [off, off+size) of release file `name` into dst, resuming what dst holds;
    raises FetchError("bad_sha256") unless they hash to sha_hex."""
    have = slots.file_size(dst)
    h = hashlib.sha256()
    if have > size:
        slots.remove_file(dst)
        have = -1
    if have > 0:  # resume: re-hash what flash holds, continue after it
        with open(dst, "rb") as f:
            left = have
            mv = memoryview(src.buf)
            while left:
                k = f.readinto(mv[: min(len(mv), left)])
                if not k:
                    break
                h.update(mv[:k])
                left -= k
    else:
        have = 0
        open(dst, "wb").close()
    if have < size:
        sink = FileSink(dst, h)
        try:
            await src.range_into(name, off + have, size - have, sink)
        finally:
            sink.close()
    if h.digest() != unhexlify(sha_hex):
        slots.remove_file(dst)
        raise FetchError("bad_sha256", dst)


async def app(src, slot, prog):
    """Fill the spare slot `slot` with the release whose files.idx prepare.py put there
    (prog: its progress record); returns install info (slot, pin). The file list is only
    ever read from flash, one line at a time."""
    running = thisboot.selected
    d = slotcheck.slot_dir(slot)
    done = prog["done"]
    i = 0
    for sha, size, off, path in slotcheck.index_lines(slot):
        if i < done:
            i += 1
            continue
        dst = d + "/" + path
        slots.parent_dirs(slot, path)
        have = slots.file_size(dst)
        if have == size:  # complete before a power cut whose progress was not saved yet?
            got = slotcheck.hash_file(dst)
            if got and hexlify(got[0]).decode() == sha:
                have = None
            else:
                slots.remove_file(dst)
                have = -1
        if have is None:
            pass
        elif have <= 0 and running and slots.copy_hashed(
                slotcheck.slot_dir(running) + "/" + path, dst, size, sha, src.buf):
            src.copied += 1
        else:
            await fetch_file(src, dst, off, size, sha, "bundle.bin")
        i += 1
        if i % _SAVE_FILES == 0:
            prog["done"] = i
            fsatomic.write_json(slots.PROGRESS, prog)
    prog["done"] = i
    fsatomic.write_json(slots.PROGRESS, prog)
    err = slotcheck.verify_slot(slot, prog["pin"])
    if err:
        slots.clear_progress()  # start over next time: something on flash is not what we wrote
        raise FetchError("verify_failed", err)
    return {"kind": "app", "slot": slot, "pin": prog["pin"]}
