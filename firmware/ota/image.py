"""Download of a verified image release into the spare esp32.Partition.

Each 4 KiB block is erased, then programmed piece by piece from lib/slotcheck's buffer (the last
piece padded with 0xFF to 16 bytes), everything through SHA-256; progress is saved every
64 KiB, and a resume re-hashes what the partition holds and continues with a Range
request. set_boot() comes later, in installer.install, after the hash matched. Its own
module so an image download does not load the app download's code (download.py). Writer is
the one image writer of the engine: the in-band push (push.py) writes through it too.
"""
import hashlib
from binascii import unhexlify
from micropython import const

import slotcheck
import fsatomic
from firmware.ota import FetchError, slots

_BLOCK = const(4096)  # the flash erase unit of an image partition
_SAVE_BLOCKS = const(16)  # progress saved every 16 blocks (64 KiB)


class Writer:
    """The engine's image writer: bytes into the partition from `done` on, piece by piece
    from lib/slotcheck's buffer (program(n) writes its first n bytes: a piece never crosses
    a 4 KiB block), through SHA-256. Each block is erased when its first piece comes; the
    last piece is padded with 0xFF to 16 bytes; save(done) is called every 64 KiB. The
    fetcher fills the buffer from HTTP ranges, the push sink (push.py) from a back end's
    packets."""

    def __init__(self, part, done, save):
        self.part = part
        self.pos = done
        self.save = save
        self.h = hashlib.sha256()
        self.buf = slotcheck.buffer()

    def rehash(self):
        """Resume: hash the bytes the partition already holds."""
        buf = self.buf
        step = len(buf)  # divides the 4 KiB block: pieces never straddle two blocks
        for at in range(0, self.pos, step):
            self.part.readblocks(at // _BLOCK, buf, at % _BLOCK)
            self.h.update(buf)

    def program(self, n):
        buf = self.buf
        self.h.update(memoryview(buf)[:n])
        b, off = divmod(self.pos, _BLOCK)
        if off == 0:
            self.part.ioctl(6, b)  # erase the block, then program it piece by piece
        k = n
        while k % 16:  # the last piece: whole 16-byte units (flash encryption needs them)
            buf[k] = 0xFF
            k += 1
        self.part.writeblocks(b, memoryview(buf)[:k], off)
        self.pos += n
        if self.pos % (_SAVE_BLOCKS * _BLOCK) == 0:
            self.save(self.pos)


def target(system, size):
    """(partition, label) an image of `size` bytes goes into; FetchError when none fits."""
    part = system.spare_partition() if system else None
    if part is None:
        raise FetchError("no_partition", "this firmware has no OTA partitions", False)
    cap = part.ioctl(4, 0) * part.ioctl(5, 0)
    if size > cap or size <= 0:
        raise FetchError("too_large", "image %d bytes, partition %d" % (size, cap), False)
    return part, part.info()[4]


async def image(src, env_hex, payload):
    img = payload["image"]
    size, sha_hex = img["size"], img["sha256"]
    part, label = target(src.system, size)
    src.buf = slotcheck.buffer()
    prog = slots.read_progress()
    if not (prog and prog.get("env") == env_hex and prog.get("kind") == "image" and prog.get("label") == label):
        prog = {"env": env_hex, "kind": "image", "label": label, "done": 0}
        fsatomic.write_json(slots.PROGRESS, prog)

    def save(done):
        prog["done"] = done
        fsatomic.write_json(slots.PROGRESS, prog)

    w = Writer(part, prog["done"], save)
    w.rehash()
    if w.pos < size:
        await src.range_into("image.bin", w.pos, size - w.pos, lambda mv: w.program(len(mv)))
    if w.h.digest() != unhexlify(sha_hex):
        slots.clear_progress()
        raise FetchError("bad_sha256", "image")
    return {"kind": "image", "part": part, "label": label}
