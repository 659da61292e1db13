"""The sim chip's flash: a NOR-flash block device over a host file.

4096-byte erase sectors; erase sets 0xFF; programming can only clear bits, so writing over
data that was not erased raises (and is counted: it would be a bug on a real chip). It speaks
MicroPython's extended block protocol, so `vfs.VfsLfs2` formats and mounts it as the ESP32's
`vfs` partition. Per-sector erase counters give wear figures.
"""
import os
import micropython
from micropython import const

SECTOR = const(4096)
# programming checks and erases go by this much: a real ESP32's flash block device holds no
# sector-sized buffers in the heap, so neither does the sim's (its heap figures are the app's)
_CHUNK = const(256)
_EIO = const(5)


@micropython.viper
def _first_violation(old: ptr8, new: ptr8, n: int) -> int:
    # NOR programming is old AND new: a 1 in `new` over a 0 in `old` cannot be written
    i = 0
    while i < n:
        if int(new[i]) & (0xFF ^ int(old[i])):
            return i
        i += 1
    return -1


class FlashSizeError(ValueError):
    """The flash file does not match the flash it should model (args[0] says how)."""


class SimFlash:
    """Block device over `path` of `size` bytes (created erased if missing)."""

    def __init__(self, path, size=None):
        try:
            actual = os.stat(path)[6]
        except OSError:
            actual = None
        if actual is None:
            if not size:
                raise FlashSizeError("flash file %s does not exist and no size was given" % path)
            if size % SECTOR or size < 8 * SECTOR:
                raise FlashSizeError("flash size %d is not a whole number of %d-byte sectors, at least 8" % (size, SECTOR))
            self._create(path, size)
            actual = size
        if size is None:
            size = actual
        if actual != size:
            raise FlashSizeError(
                "flash file %s is %d bytes, expected %d: not this board's flash image (delete it to start blank)"
                % (path, actual, size)
            )
        if size % SECTOR or size < 8 * SECTOR:
            raise FlashSizeError(
                "flash %s: size %d is not a whole number of %d-byte sectors, at least 8" % (path, size, SECTOR)
            )
        self.path = path
        self.size = size
        self.sectors = size // SECTOR
        self.erase_counts = [0] * self.sectors
        self.violations = 0
        self.bytes_programmed = 0
        self._f = open(path, "r+b")
        self._old = bytearray(_CHUNK)
        self._blank = b"\xff" * _CHUNK

    @staticmethod
    def _create(path, size):
        # written aside and renamed: a power cut while the blank image is written must not
        # leave a short flash file (the next power-on would refuse it as another board's)
        blank = b"\xff" * SECTOR
        with open(path + ".new", "wb") as f:
            for _ in range(size // SECTOR):
                f.write(blank)
        os.rename(path + ".new", path)

    def _check_range(self, block, off, n):
        start = block * SECTOR + off
        if block < 0 or off < 0 or start + n > self.size:
            raise OSError(_EIO)
        return start

    def readblocks(self, block, buf, off=0):
        start = self._check_range(block, off, len(buf))
        self._f.seek(start)
        self._f.readinto(buf)

    def _program(self, start, buf):
        n = len(buf)
        done = 0
        mv = memoryview(buf)
        old = self._old
        while done < n:
            k = min(_CHUNK, n - done)
            ov = memoryview(old)[:k]
            self._f.seek(start + done)
            self._f.readinto(ov)
            if _first_violation(ov, mv[done : done + k], k) >= 0:
                self.violations += 1
                raise OSError(_EIO)
            done += k
        self._f.seek(start)
        self._f.write(buf)
        self.bytes_programmed += n

    def erase(self, block):
        if block < 0 or block >= self.sectors:
            raise OSError(_EIO)
        self._f.seek(block * SECTOR)
        for _ in range(SECTOR // _CHUNK):
            self._f.write(self._blank)
        self.erase_counts[block] += 1

    def writeblocks(self, block, buf, off=None):
        if off is None:
            # simple protocol: erase the whole blocks, then program them
            nblocks = (len(buf) + SECTOR - 1) // SECTOR
            self._check_range(block, 0, nblocks * SECTOR)
            for i in range(nblocks):
                self.erase(block + i)
            self._program(block * SECTOR, buf)
        else:
            self._program(self._check_range(block, off, len(buf)), buf)

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self.sectors
        if op == 5:  # block size
            return SECTOR
        if op == 6:  # erase one block
            self.erase(arg)
            return 0
        if op == 3:  # sync: writes go straight to the file, nothing buffered
            return 0
        return 0 if op in (1, 2) else None

    def close(self):
        self._f.close()

    def total_erases(self):
        return sum(self.erase_counts)


def mount(bd, where="/", format_if_needed=True):
    """Mount `bd` as littlefs like the ESP32's _boot.py: format only if it will not mount."""
    import vfs

    try:
        fs = vfs.VfsLfs2(bd)
    except OSError:
        if not format_if_needed:
            raise
        vfs.VfsLfs2.mkfs(bd)
        fs = vfs.VfsLfs2(bd)
    vfs.mount(fs, where)
    return fs
