# Helpers shared by the storage device tests (not a test module itself).
import os

from prng import XorShift


def tmpdir():
    return os.getenv("UPILE_TMP") or "."


def rmtree(path):
    """Remove a file or a directory tree (missing is fine)."""
    try:
        st = os.stat(path)
    except OSError:
        return
    if st[0] & 0x4000:
        for name in os.listdir(path):
            rmtree(path + "/" + name)
        os.rmdir(path)
    else:
        os.remove(path)


def flash_fs(name, size=256 * 1024, where="/fl"):
    """Mount a fresh SimFlash-backed littlefs at `where`; returns the SimFlash."""
    from chip.simflash import SimFlash, mount

    path = tmpdir() + "/" + name
    rmtree(path)
    unmount(where)
    bd = SimFlash(path, size)
    mount(bd, where)
    return bd


def unmount(where="/fl"):
    import vfs

    try:
        vfs.umount(where)
    except OSError:
        pass


def write_raw(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read_raw(path):
    with open(path, "rb") as f:
        return f.read()


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


Rng = XorShift  # deterministic PRNG shared by the device tests
