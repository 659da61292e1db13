"""littlefs images on the host, in the geometry MicroPython's VfsLfs2 uses on the ESP32.

VfsLfs2 (extmod/vfs_lfsx.c) mounts with the partition's 4096-byte erase blocks and block count,
read/prog size 32, lookahead 32, cache 4*32, block_cycles 100, name_max 255. littlefs-python
is configured the same way and writes on-disk format 2.0, which every littlefs v2 release reads
(a newer default, 2.1, is not understood by older MicroPython builds). The block count must
equal the partition's: a mismatch fails the mount, and the ESP32 then formats the partition.

Every image is read back twice: by littlefs-python and by the `micropython` binary's own
VfsLfs2 over chip/simflash.SimFlash, and both must see the same bytes in every file.
"""
import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

from upile import paths
from upile.errors import UserError

BLOCK = 4096
GEOMETRY = dict(block_size=BLOCK, read_size=32, prog_size=32, lookahead_size=32, cache_size=128,
                block_cycles=100, name_max=255, disk_version=0x00020000)


def _lfs(block_count, buffer=None):
    """A littlefs-python handle; over `buffer` it is mounted (never formatted: LittleFS() would
    format an image it cannot mount) and accepts any 2.x disk version, since MicroPython
    upgrades 2.0 to 2.1 on its first write."""
    from littlefs import LittleFS, LittleFSError
    from littlefs.context import UserContext

    if buffer is None:
        return LittleFS(context=UserContext(buffsize=block_count * BLOCK), block_count=block_count,
                        mount=False, **GEOMETRY)
    fs = LittleFS(context=UserContext(buffer=buffer), block_count=block_count, mount=False,
                  **dict(GEOMETRY, disk_version=0))
    try:
        fs.mount()
    except LittleFSError as e:
        raise UserError("not a mountable littlefs image of %d blocks: %s" % (block_count, e))
    return fs


def build(files, size):
    """Image bytes (`size` long) holding `files` {"/device/path": bytes}, directories made as needed."""
    if size % BLOCK or size < 16 * BLOCK:
        raise UserError("filesystem size %d is not a multiple of %d of at least 16 blocks" % (size, BLOCK))
    from littlefs import LittleFSError

    fs = _lfs(size // BLOCK)
    fs.format()
    fs.mount()
    try:
        for path in sorted(files):
            parent = path.rsplit("/", 1)[0]
            if parent:
                fs.makedirs(parent, exist_ok=True)
            with fs.open(path, "wb") as f:
                f.write(files[path])
    except LittleFSError as e:
        raise UserError("the files do not fit a %d-byte filesystem (%s): use a larger --size" % (size, e))
    used = fs.used_block_count
    fs.unmount()
    return bytes(fs.context.buffer), used


def walk_host(image):
    """{path: sha256 hex} of every file, read with littlefs-python."""
    fs = _lfs(len(image) // BLOCK, bytearray(image))
    out = {}
    for root, _dirs, names in fs.walk("/"):
        for n in names:
            p = (root.rstrip("/") + "/" + n) if root != "/" else "/" + n
            with fs.open(p, "rb") as f:
                out[p] = hashlib.sha256(f.read()).hexdigest()
    return out


_DEVICE_WALK = r"""
import sys, os, vfs, hashlib, binascii
from chip.simflash import SimFlash
bd = SimFlash(sys.argv[1])
vfs.mount(vfs.VfsLfs2(bd), '/img')
buf = bytearray(1024)
def walk(d):
    for ent in os.ilistdir('/img' + d):
        name, typ = ent[0], ent[1]
        p = d + name if d.endswith('/') else d + '/' + name
        if typ == 0x4000:
            walk(p)
        else:
            h = hashlib.sha256()
            with open('/img' + p, 'rb') as f:
                while True:
                    n = f.readinto(buf)
                    if not n:
                        break
                    h.update(memoryview(buf)[:n])
            print('F', p, binascii.hexlify(h.digest()).decode())
walk('/')
st = os.statvfs('/img')
print('S', st[0], st[2], st[3])
"""


def walk_device(image):
    """{path: sha256 hex} as MicroPython's VfsLfs2 sees the image, plus (bsize, blocks, free)."""
    with tempfile.TemporaryDirectory(prefix="upile-lfs-") as tmp:
        img = Path(tmp) / "vfs.bin"
        img.write_bytes(image)
        script = Path(tmp) / "walk.py"
        script.write_text(_DEVICE_WALK)
        env = dict(os.environ, MICROPYPATH="%s:%s" % (paths.ROOT, paths.ROOT / "lib"))
        p = subprocess.run([paths.tool("micropython"), str(script), str(img)], capture_output=True,
                           text=True, env=env, timeout=120)
    if p.returncode:
        raise UserError("MicroPython's VfsLfs2 cannot read the image:\n%s" % (p.stdout + p.stderr)[-1500:])
    files, stat = {}, None
    for line in p.stdout.splitlines():
        parts = line.split()
        if parts and parts[0] == "F":
            files[parts[1]] = parts[2]
        elif parts and parts[0] == "S":
            stat = tuple(int(x) for x in parts[1:])
    return files, stat


def cross_check(image, expected=None):
    """Both readers agree on every file (and with `expected` {path: bytes} when given)."""
    host = walk_host(image)
    dev, stat = walk_device(image)
    if host != dev:
        diff = sorted(set(host.items()) ^ set(dev.items()))
        raise UserError("littlefs-python and VfsLfs2 disagree on: %s" % json.dumps(diff[:6]))
    if expected is not None:
        want = {p: hashlib.sha256(b).hexdigest() for p, b in expected.items()}
        if want != host:
            raise UserError("image content differs from what was put in: %s"
                            % sorted(set(want.items()) ^ set(host.items()))[:6])
    return host, stat
