# One OTA update (check + download) in a small heap: tests/host/test_ota_memory.py and
# bench/ota.py run this, compiled to .mpy, as `micropython -X heapsize=64K -m ota_mem`.
# argv: mode (image|app), release URL, keys.json, flash file, partition file, app tree
# The app tree is `upile build`'s .mpy files, mounted at /app and imported from there as a
# device imports its slot's .mpy files from littlefs (bytecode loaded into the heap; frozen
# modules would cost less). The flash is a plain file-backed block device standing in for
# the ESP32's flash driver, which is C and takes no Python heap.
import gc
import sys

import vfs

mode, url, keyfile, flashfile, partfile, app = sys.argv[1:7]
_BS = 4096
_FF = b"\xff" * 256
peak = [0]


def sample():
    gc.collect()
    peak[0] = max(peak[0], gc.mem_alloc())


def mark(what):
    """Print the live heap (after a collection) at a named point: where the bytes go."""
    sample()
    print("mark %s %d" % (what, gc.mem_alloc()))


class Blocks:
    """A file as a block device with 4 KiB blocks (esp32.Partition's block API)."""

    def __init__(self, path, label="vfs"):
        self.f = open(path, "r+b")
        self.f.seek(0, 2)
        self.n = self.f.tell() // _BS
        self.label = label

    def info(self):
        return (0, 0x11, 0x190000, self.n * _BS, self.label, False)

    def readblocks(self, n, buf, off=0):
        self.f.seek(n * _BS + off)
        self.f.readinto(buf)

    def writeblocks(self, n, buf, off=0):
        self.f.seek(n * _BS + off)
        self.f.write(buf)
        if self.label != "vfs" and n % 16 == 0:  # the image download: sample as it goes
            sample()

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return _BS
        if op == 6:  # erase: the block reads 0xFF
            self.f.seek(arg * _BS)
            for _ in range(_BS // len(_FF)):
                self.f.write(_FF)
        return 0  # init, deinit, sync: a file needs none of them

    def set_boot(self):
        pass


def spare_partition():
    """What the board's system module answers (this module stands in for it)."""
    return PART


with open(keyfile) as f:
    KEYS = f.read()
flash = Blocks(flashfile)
PART = Blocks(partfile, "ota_1") if mode == "image" else None
vfs.umount("/")
try:
    fs = vfs.VfsLfs2(flash)
except OSError:
    vfs.VfsLfs2.mkfs(flash)
    fs = vfs.VfsLfs2(flash)
vfs.mount(fs, "/")
vfs.mount(vfs.VfsPosix(app), "/app")
sys.path[:] = ["/app", "/app/lib", ".frozen"]
fs = None
mark("flash mounted")

import asyncio  # noqa: E402

import fsatomic  # noqa: E402
import slotcheck  # noqa: E402
import thisboot  # noqa: E402

fsatomic.mkdirs("/ota")
fsatomic.mkdirs("/slots/a")
fsatomic.write_json(thisboot.STATE, {"active": "a", "pending": None, "counter": 0})  # as the factory does
thisboot.selected = "a"
slotcheck.buffer()  # a device made it at boot, for the slot check
mark("asyncio thisboot slotcheck fsatomic")


async def sampler():
    while True:
        sample()
        await asyncio.sleep_ms(10)


def source():
    from firmware.ota import fetcher

    return fetcher.Fetcher(url, http_opts={"allow_http": True, "timeout": 10}, system=sys.modules[__name__])


async def envelope():
    """The envelope phase in a frame of its own: its temporaries die with it."""
    f = source()
    env = await f.envelope()
    mark("envelope fetched")
    return env, f.net_bytes, f.requests


async def main():
    """What Ota._attempt (firmware/ota/service.py) does for one check, phase by phase."""
    import json

    from firmware.ota import CHECK_CODE, DOWNLOAD_CODE, forget, keys, signed_payload

    global KEYS
    ring, th = keys.parse(json.loads(KEYS))
    keys = KEYS = None  # a local would keep the module alive after forget()
    from firmware.ota import manifest

    lim = manifest.merged({"threshold": th})
    manifest = None
    forget("firmware.ota.keys", *CHECK_CODE)  # the service does both once, at start-up
    mark("keys parsed")
    asyncio.create_task(sampler())
    env, net, req = await envelope()
    forget(*DOWNLOAD_CODE)
    mark("fetcher dropped")
    env_hex = slotcheck.env_sha(env)
    payload = signed_payload(env, ring, lim)  # Ota._verify: the signature, the crypto alone
    mark("signature checked")
    forget(*CHECK_CODE)
    from firmware.ota import manifest

    p = manifest.check_payload(payload, product="upile-ebike-10", installed_counter=0, now=None, lim=lim)
    mark("checked")
    manifest = payload = None
    forget(*CHECK_CODE)  # ...then the fields, manifest.py alone
    mark("crypto unloaded")
    check_peak, peak[0] = peak[0], 0
    box, ebox = [p], [env]
    p = env = None
    import time

    t0 = time.ticks_ms()
    f = source()
    if mode == "image":
        ready = await f.download_image(env_hex, box.pop())
    else:
        ready = await f.download_app(ebox, env_hex, box)
    net, req = net + f.net_bytes, req + f.requests
    f = None
    forget(*DOWNLOAD_CODE)
    mark("downloaded")
    if mode == "app":
        print("verify", slotcheck.verify_slot(ready["slot"], ready["pin"]))  # as install() does
    sample()
    print("ms", time.ticks_diff(time.ticks_ms(), t0))
    print("OK bytes", net, "requests", req, "peak_heap", max(peak[0], check_peak), "check_peak", check_peak,
          "download_peak", peak[0], "heap", gc.mem_free() + gc.mem_alloc())


gc.threshold(4096)  # as Ota.run_once does for an update (firmware/ota/service.py _GC_STEP)
asyncio.run(main())
