# The OTA engine's push sink (firmware/ota/push.py) inside micropython on a littlefs root, fed
# a release container in 200-byte pieces as DNY's in-band update does: run by
# tests/host/test_ota_push.py (and killed by it at random instants: a power cut).
# argv: flash file, partition file, keys.json, container file, plan, source root
# plan: comma-separated steps: "feed:A:B" pieces A..B-1 (0-based) in order, "restart" (the
# server starts over at piece 0 and goes on), "install", "stat" (prints the state).
# Prints one JSON line per step: {"step", "held", "state", "sum", "writes", "error"}.
import json
import sys

import vfs

flashfile, partfile, keyfile, container, plan, root = sys.argv[1:7]
_BS = 4096
PKT = 200


class Blocks:
    """A file as a 4 KiB block device (esp32.Partition's API), counting writes."""

    def __init__(self, path, label="vfs"):
        self.f = open(path, "r+b")
        self.f.seek(0, 2)
        self.n = self.f.tell() // _BS
        self.label = label
        self.writes = 0

    def info(self):
        return (0, 0x11, 0x190000, self.n * _BS, self.label, False)

    def readblocks(self, n, buf, off=0):
        self.f.seek(n * _BS + off)
        self.f.readinto(buf)

    def writeblocks(self, n, buf, off=0):
        self.writes += 1
        self.f.seek(n * _BS + off)
        self.f.write(buf)
        self.f.flush()

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return _BS
        if op == 6:
            self.f.seek(arg * _BS)
            self.f.write(b"\xff" * _BS)
            self.f.flush()
        return 0

    def set_boot(self):
        print(json.dumps({"set_boot": True}))


PART = Blocks(partfile, "ota_1")
RESETS = []


class System:
    """What firmware/board/system.py answers the OTA service."""

    @staticmethod
    def spare_partition():
        return PART

    @staticmethod
    def running_label():
        return "ota_0"

    @staticmethod
    def reset(reason):
        RESETS.append(reason)


with open(keyfile) as f:
    KEYS = f.read()
CONTAINER = open(container, "rb")  # read piece by piece (a harness buffer of its size would not fit)
CONTAINER.seek(0, 2)
SIZE = CONTAINER.tell()
PIECE = bytearray(PKT)


def piece(i):
    CONTAINER.seek(i * PKT)
    n = CONTAINER.readinto(PIECE)
    return memoryview(PIECE)[:n]
flash = Blocks(flashfile)
vfs.umount("/")
try:
    fs = vfs.VfsLfs2(flash)
except OSError:
    vfs.VfsLfs2.mkfs(flash)
    fs = vfs.VfsLfs2(flash)
vfs.mount(fs, "/")
vfs.mount(vfs.VfsPosix(root), "/src")  # the app's source, as a slot would hold it
sys.path[:] = ["/src", "/src/lib", ".frozen"]
fs = None

import asyncio  # noqa: E402

import fsatomic  # noqa: E402
import thisboot  # noqa: E402
from firmware import config, ota  # noqa: E402
from firmware.ota import keys  # noqa: E402
from firmware.ota.service import Ota  # noqa: E402

fsatomic.mkdirs("/ota")
fsatomic.mkdirs("/slots/a")
if thisboot.read_state() is None:
    fsatomic.write_json(thisboot.STATE, {"active": "a", "pending": None, "counter": 1,
                                         "slots": {"a": {"counter": 1, "version": "1.0.0"}}})
thisboot.selected = "a"
ring, th = keys.parse(json.loads(KEYS))
cfg = config.defaults()
svc = Ota(cfg, keyring=ring, system=System)
ota._service = svc


def writes():
    return flash.writes + PART.writes


async def main():
    for step in plan.split(","):
        out = {"step": step}
        sink = ota.push_sink()
        w0 = writes()
        try:
            if step.startswith("feed:") or step == "restart":
                if step == "restart":
                    a, b = 0, (SIZE + PKT - 1) // PKT
                else:
                    a, b = [int(x) for x in step.split(":")[1:]]
                held = None
                for i in range(a, b):
                    if i * PKT >= SIZE:
                        break
                    held = await sink.put(i * PKT, piece(i))
                    if held < min((i + 1) * PKT, SIZE) and step != "restart":
                        out["gap_at"] = i
                        break
                    print("PIECE", i, held)
                out["held"] = held
            elif step == "install":
                sink.install()
                ready, meta, env_hex = svc._pushed
                svc._pushed = None
                out["result"] = await svc._install(ready, meta, env_hex)
                out["resets"] = RESETS
                out["state_file"] = thisboot.read_state()
        except Exception as e:
            if type(e).__name__ != "PushError":
                raise
            out["error"] = e.args[0]
            out["detail"] = e.args[1] if len(e.args) > 1 else ""
        out["writes"] = writes() - w0
        out["state"] = sink.state
        out["sum"] = sink.sum
        out["pos"] = sink.pos
        print(json.dumps(out))


asyncio.run(main())
print("DONE")
