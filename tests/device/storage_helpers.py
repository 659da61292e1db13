# Helpers shared by the storage device tests (not a test module itself).
import os


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
    from firmware.board.sim import SimFlash, mount

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


class Rng:
    """Deterministic xorshift32: the same bytes on every run (os.urandom is not)."""

    def __init__(self, seed=1):
        self.s = seed or 1

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s

    def bytes(self, n):
        b = bytearray(n)
        for i in range(n):
            b[i] = self.next() & 0xFF
        return bytes(b)
