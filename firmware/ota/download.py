"""Download of a verified release into the spare slot: app files or a whole image.

App: the release's index.txt (signed by size and sha256 in the manifest) is fetched as the
spare slot's files.idx and checked line by line (index.py); then every file it lists is
taken from the running slot when its bytes hash to the index's sha256 (copied while
re-hashing), otherwise fetched with a Range request into bundle.bin, in 4 KiB chunks
through SHA-256. Image: streamed into the spare esp32.Partition (erase + write per 4 KiB
block, last block padded with 0xFF). Progress is persisted in /ota/progress.json; a resume
re-hashes what flash already holds and continues with a Range request, so completed files
are never fetched again. Nothing here switches slots: install() does, after the whole slot
verified.

Loaded only for a download (Fetcher.download_app/download_image import it) and dropped
again with firmware.ota.forget, so this code is not in the heap while a manifest's
signature is checked. All chunk I/O goes through bootsel's one 4 KiB buffer, which the
slot check reuses.
"""
import hashlib
from binascii import hexlify, unhexlify
from micropython import const

import bootsel
import fsatomic
from firmware.ota import slots
from firmware.ota import FetchError

_CHUNK = const(4096)
_SAVE_FILES = const(8)  # progress saved every this many completed files...
_SAVE_BLOCKS = const(16)  # ...or image blocks (64 KiB)
_FLUSH = const(8)  # a partial file is flushed every 8 chunks (32 KiB): resume point on flash


def _read_progress():
    try:
        return fsatomic.read_json(slots.PROGRESS)
    except fsatomic.Corrupt:
        return None


def clear_progress():
    fsatomic.remove(slots.PROGRESS)


async def _prepare_app(src, ebox, env_hex, payload):
    """Fetch the release's index.txt as the spare slot's files.idx (hash = the signed
    index sha256, which becomes the slot's pin) and check it line by line."""
    slot = slots.spare()
    if slot is None:
        raise FetchError("no_state", "no boot state: provision the device", False)
    prog = _read_progress()
    if prog and prog.get("env") == env_hex and prog.get("slot") == slot and prog.get("kind") == "app":
        return slot, prog
    clear_progress()
    slots.wipe(slot)
    spec = payload["index"]
    dst = bootsel.slot_dir(slot) + "/" + bootsel.INDEX
    await _fetch_file(src, dst, 0, spec["size"], spec["sha256"], "index.txt")
    from firmware.ota import index

    try:
        with open(dst, "rb") as f:
            index.check_index(f, payload)
    except index.ManifestError as e:  # signed, so a retry cannot help
        raise FetchError(e.reason, e.detail, False)
    with open(bootsel.slot_dir(slot) + "/" + bootsel.ENVELOPE, "wb") as f:
        f.write(ebox[0])
    prog = {"env": env_hex, "kind": "app", "slot": slot, "done": 0, "pin": spec["sha256"]}
    fsatomic.write_json(slots.PROGRESS, prog)
    return slot, prog


async def _fetch_file(src, dst, off, size, sha_hex, name):
    have = slots.file_size(dst)
    h = hashlib.sha256()
    if have > size:
        slots._remove(dst)
        have = -1
    if have > 0:  # resume: re-hash what flash holds, continue after it
        with open(dst, "rb") as f:
            left = have
            mv = memoryview(src.buf)
            while left:
                k = f.readinto(mv[: min(_CHUNK, left)])
                if not k:
                    break
                h.update(mv[:k])
                left -= k
    else:
        have = 0
        open(dst, "wb").close()
    if have < size:
        f = open(dst, "ab")
        count = [0]

        def sink(mv):
            h.update(mv)
            f.write(mv)
            count[0] += 1
            if count[0] % _FLUSH == 0:
                f.flush()

        try:
            await src._range_into(name, off + have, size - have, sink)
        finally:
            f.close()
    if h.digest() != unhexlify(sha_hex):
        slots._remove(dst)
        raise FetchError("bad_sha256", dst)


async def app(src, ebox, env_hex, box):
    """Fill the spare slot with the release; returns install info (slot, pin).

    ebox/box hold the envelope bytes and the checked payload; both are dropped once the
    slot's index and envelope are on flash. The file list is only ever read from flash,
    one line at a time."""
    src.buf = bootsel.buffer()
    slot, prog = await _prepare_app(src, ebox, env_hex, box[0])
    box.clear()
    ebox.clear()
    running = bootsel.selected
    d = bootsel.slot_dir(slot)
    done = prog["done"]
    i = 0
    for sha, size, off, path in bootsel.index_lines(slot):
        if i < done:
            i += 1
            continue
        dst = d + "/" + path
        slots.parent_dirs(slot, path)
        have = slots.file_size(dst)
        if have == size:  # complete before a power cut whose progress was not saved yet?
            got = bootsel.hash_file(dst)
            if got and hexlify(got[0]).decode() == sha:
                have = None
            else:
                slots._remove(dst)
                have = -1
        if have is None:
            pass
        elif have <= 0 and running and slots.copy_hashed(
                bootsel.slot_dir(running) + "/" + path, dst, size, sha, src.buf):
            src.copied += 1
        else:
            await _fetch_file(src, dst, off, size, sha, "bundle.bin")
        i += 1
        if i % _SAVE_FILES == 0:
            prog["done"] = i
            fsatomic.write_json(slots.PROGRESS, prog)
    prog["done"] = i
    fsatomic.write_json(slots.PROGRESS, prog)
    err = bootsel.verify_slot(slot, prog["pin"])
    if err:
        clear_progress()  # start over next time: something on flash is not what we wrote
        raise FetchError("verify_failed", err)
    return {"kind": "app", "slot": slot, "pin": prog["pin"]}


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
    src.buf = bootsel.buffer()
    prog = _read_progress()
    if not (prog and prog.get("env") == env_hex and prog.get("kind") == "image" and prog.get("label") == label):
        prog = {"env": env_hex, "kind": "image", "label": label, "done": 0}
        fsatomic.write_json(slots.PROGRESS, prog)
    h = hashlib.sha256()
    buf = src.buf
    done = prog["done"]
    for b in range(done // _CHUNK):  # resume: re-hash the blocks already in flash
        part.readblocks(b, buf)
        h.update(buf)
    state = [done // _CHUNK, 0]

    def sink(mv):
        n = len(mv)
        h.update(mv)
        if n < _CHUNK:  # the image's last block: pad, so the erase+write covers 4 KiB
            for j in range(n, _CHUNK):
                buf[j] = 0xFF
        part.writeblocks(state[0], buf)  # 3 arguments: erase, then write the block
        state[0] += 1
        if state[0] % _SAVE_BLOCKS == 0:
            prog["done"] = state[0] * _CHUNK
            fsatomic.write_json(slots.PROGRESS, prog)

    if done < size:
        await src._range_into("image.bin", done, size - done, sink)
    if h.digest() != unhexlify(sha_hex):
        clear_progress()
        raise FetchError("bad_sha256", "image")
    return {"kind": "image", "part": part, "label": label}


def install(ready, meta, env_hex, max_trials, wdt_ms):
    """Switch to the downloaded release at the next boot (the caller then resets)."""
    meta = {"pin": ready.get("pin"), "counter": meta["counter"], "version": meta.get("version"), "env": env_hex}
    if ready["kind"] == "app":
        err = bootsel.verify_slot(ready["slot"], ready["pin"])  # once more, right before switching
        if err:
            clear_progress()
            raise FetchError("verify_failed", err)
        bootsel.set_pending(ready["slot"], meta, max_trials)
        st = bootsel.read_state()
        st["wdt_ms"] = wdt_ms
        bootsel.write_state(st)
    else:
        try:
            ready["part"].set_boot()  # the bootloader validates the image here
        except OSError as e:
            clear_progress()
            raise FetchError("set_boot", repr(e), False)
        st = bootsel.read_state() or {"active": "a"}
        meta["label"] = ready["label"]
        st["image"] = meta
        bootsel.write_state(st)
    clear_progress()
