"""Download of a verified image release into the spare esp32.Partition.

Each 4 KiB block is erased, then programmed piece by piece from lib/slotcheck's buffer (the last
piece padded with 0xFF to 16 bytes), everything through SHA-256; progress is saved every
64 KiB, and a resume re-hashes what the partition holds and continues with a Range
request. set_boot() comes later, in installer.install, after the hash matched. Its own
module so an image download does not load the app download's code (download.py).
"""
import hashlib
from binascii import unhexlify
from micropython import const

import slotcheck
import fsatomic
from firmware.ota import FetchError, slots

_BLOCK = const(4096)  # the flash erase unit of an image partition
_SAVE_BLOCKS = const(16)  # progress saved every 16 blocks (64 KiB)


async def image(src, env_hex, payload):
    img = payload["image"]
    size, sha_hex = img["size"], img["sha256"]
    part = src.system.spare_partition() if src.system else None
    if part is None:
        raise FetchError("no_partition", "this firmware has no OTA partitions", False)
    label = part.info()[4]
    cap = part.ioctl(4, 0) * part.ioctl(5, 0)
    if size > cap or size <= 0:
        raise FetchError("too_large", "image %d bytes, partition %d" % (size, cap), False)
    src.buf = slotcheck.buffer()
    prog = slots.read_progress()
    if not (prog and prog.get("env") == env_hex and prog.get("kind") == "image" and prog.get("label") == label):
        prog = {"env": env_hex, "kind": "image", "label": label, "done": 0}
        fsatomic.write_json(slots.PROGRESS, prog)
    h = hashlib.sha256()
    buf = src.buf
    step = len(buf)  # divides the 4 KiB block: pieces never straddle two blocks
    done = prog["done"]
    for at in range(0, done, step):  # resume: re-hash the blocks already in flash
        part.readblocks(at // _BLOCK, buf, at % _BLOCK)
        h.update(buf)
    pos = [done]

    def sink(mv):
        n = len(mv)
        h.update(mv)
        b, off = divmod(pos[0], _BLOCK)
        if off == 0:
            part.ioctl(6, b)  # erase the block, then program it piece by piece
        while n % 16:  # the last piece: whole 16-byte units (flash encryption needs them)
            buf[n] = 0xFF
            n += 1
        part.writeblocks(b, memoryview(buf)[:n], off)
        pos[0] += len(mv)
        if pos[0] % (_SAVE_BLOCKS * _BLOCK) == 0:
            prog["done"] = pos[0]
            fsatomic.write_json(slots.PROGRESS, prog)

    if done < size:
        await src.range_into("image.bin", done, size - done, sink)
    if h.digest() != unhexlify(sha_hex):
        slots.clear_progress()
        raise FetchError("bad_sha256", "image")
    return {"kind": "image", "part": part, "label": label}
