# Runs under `micropython -X heapsize=64K` (tests/host/test_ota_memory.py, bench/ota.py):
# one OTA download into a sim flash, reporting the peak heap seen while writing.
# argv: mode (image|app), release URL, keys.json, flash file, partition file
import sys
import gc
import asyncio
import hashlib
from binascii import hexlify

import bootsel
import fsatomic
from simflash import SimFlash, mount
from firmware.ota import fetcher, keys, manifest

mode, url, keyfile, flashfile, partfile = sys.argv[1:6]
ring, th = keys.load(keyfile)
flash = SimFlash(flashfile, 2 * 1024 * 1024)
peak = [0]


class Part:
    """A spare image partition over a second sim flash (esp32.Partition's block API)."""

    def __init__(self):
        self.bd = SimFlash(partfile, 0x180000)

    def info(self):
        return (0, 0x11, 0x190000, 0x180000, "ota_1", False)

    def ioctl(self, op, arg):
        return self.bd.ioctl(op, arg)

    def readblocks(self, n, buf, off=0):
        self.bd.readblocks(n, buf, off)

    def writeblocks(self, n, buf):
        self.bd.writeblocks(n, buf)
        if n % 16 == 0:  # live heap (after a collection) while the download runs
            gc.collect()
            peak[0] = max(peak[0], gc.mem_alloc())


class System:
    def spare_partition(self):
        return PART


PART = Part() if mode == "image" else None  # opened before '/' becomes the sim flash


import vfs  # noqa: E402

vfs.umount("/")
mount(flash, "/")
fsatomic.mkdirs("/ota")
fsatomic.mkdirs("/slots/a")
bootsel.write_state({"active": "a", "pending": None, "counter": 0})
bootsel.selected = "a"


async def sampler():
    while True:
        gc.collect()
        peak[0] = max(peak[0], gc.mem_alloc())
        await asyncio.sleep_ms(20)


async def main():
    if mode == "app":
        asyncio.create_task(sampler())
    f = fetcher.Fetcher(url, http_opts={"allow_http": True, "timeout": 10}, system=System())
    env = await f.envelope()
    env_hex = hexlify(hashlib.sha256(env).digest()).decode()
    p = manifest.check(env, ring, product="upile-ebike-10", installed_counter=0, now=None,
                       limits={"threshold": th})
    gc.collect()
    peak[0] = max(peak[0], gc.mem_alloc())
    import time
    t0 = time.ticks_ms()
    if mode == "image":
        await f.download_image(env_hex, p)
    else:
        box, ebox = [p], [env]
        p = env = None
        ready = await f.download_app(ebox, env_hex, box)
        gc.collect()
        print("verify", bootsel.verify_slot(ready["slot"], ready["pin"]))
    print("ms", time.ticks_diff(time.ticks_ms(), t0))
    print("OK bytes", f.net_bytes, "requests", f.requests, "peak_heap", peak[0], "heap", gc.mem_free() + gc.mem_alloc())


asyncio.run(main())
