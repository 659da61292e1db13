"""Reads ESP32 firmware files before anything is written to a board.

Two kinds of MicroPython ESP32 firmware exist and go to different flash offsets:
- the *combined* image (`ESP32_GENERIC-OTA-....bin` from micropython.org, `firmware.bin` of a
  build): bootloader + partition table + app, padded with 0xFF, written at 0x1000;
- the *app-only* image (`micropython.bin` of a build): one app, written at the first app
  partition (ota_0, 0x10000 in the OTA table).
Both start with an ESP-IDF image header (magic 0xE9, chip id in the extended header). The
combined one carries a partition table at flash 0x8000 (file offset 0x7000); an app-only one
carries an `esp_app_desc_t` (magic 0xABCD5432) at the start of its first segment. Anything else
is refused, as is an image for another chip (ESP32-S3 etc.).
"""
import struct
from dataclasses import dataclass, field

from upile.errors import UserError

IMAGE_MAGIC = 0xE9
APP_DESC_MAGIC = 0xABCD5432
PART_MAGIC = b"\xaa\x50"
BOOTLOADER_OFFSET = 0x1000  # ESP32 (original): the ROM loads the 2nd stage from 0x1000
PART_TABLE_OFFSET = 0x8000
PART_TABLE_SIZE = 0xC00
ESP32_CHIP_ID = 0

# chip ids of the extended header (esptool's IMAGE_CHIP_ID per target), for clear messages
CHIP_NAMES = {0: "ESP32", 2: "ESP32-S2", 5: "ESP32-C3", 9: "ESP32-S3", 12: "ESP32-C2",
              13: "ESP32-C6", 16: "ESP32-H2", 18: "ESP32-P4", 20: "ESP32-C61", 23: "ESP32-C5"}
# flash size nibble of header byte 3 -> bytes
FLASH_SIZES = {0: 1 << 20, 1: 2 << 20, 2: 4 << 20, 3: 8 << 20, 4: 16 << 20, 5: 32 << 20,
               6: 64 << 20, 7: 128 << 20}

# MicroPython's ESP32_GENERIC OTA variant (partitions-4MiB-ota.csv): used for app-only images,
# whose file says nothing about the table on the board.
OTA_4MIB_TABLE = (
    ("nvs", 1, 0x02, 0x9000, 0x4000),
    ("otadata", 1, 0x00, 0xD000, 0x2000),
    ("phy_init", 1, 0x01, 0xF000, 0x1000),
    ("ota_0", 0, 0x10, 0x10000, 0x180000),
    ("ota_1", 0, 0x11, 0x190000, 0x180000),
    ("vfs", 1, 0x81, 0x310000, 0xF0000),
)


@dataclass
class Partition:
    label: str
    type: int
    subtype: int
    offset: int
    size: int


@dataclass
class Firmware:
    path: str
    kind: str  # "combined" | "app"
    size: int
    flash_offset: int  # where the file goes
    version: str = ""
    project: str = ""
    idf: str = ""
    flash_size: int = 4 << 20
    partitions: list = field(default_factory=list)

    def part(self, label):
        for p in self.partitions:
            if p.label == label:
                return p
        return None

    def vfs(self):
        """The littlefs partition: from the table, or (MicroPython >= 1.25 tables have none and
        the firmware creates it at first boot) the flash after the last partition."""
        p = self.part("vfs")
        if p:
            return p
        end = max(q.offset + q.size for q in self.partitions)
        end = (end + 0xFFFF) & ~0xFFFF
        if end >= self.flash_size:
            raise UserError("%s: its partition table leaves no room for a filesystem" % self.path)
        return Partition("vfs", 1, 0x81, end, self.flash_size - end)


def _cstr(b):
    return b.split(b"\0", 1)[0].decode("ascii", "replace")


def _check_header(buf, what, path):
    if len(buf) < 24:
        raise UserError("%s is not an ESP32 firmware image (only %d bytes)" % (path, len(buf)))
    if buf[0] != IMAGE_MAGIC:
        raise UserError("%s is not an ESP32 firmware image (%s starts with 0x%02x, not 0xE9)"
                        % (path, what, buf[0]))
    if not 1 <= buf[1] <= 16:
        raise UserError("%s: %s header claims %d segments" % (path, what, buf[1]))
    chip_id = struct.unpack_from("<H", buf, 12)[0]
    if chip_id != ESP32_CHIP_ID:
        name = CHIP_NAMES.get(chip_id, "chip id %d" % chip_id)
        raise UserError("%s is built for %s, not ESP32: refusing to flash it" % (path, name))
    return FLASH_SIZES.get(buf[3] >> 4, 4 << 20)


def _app_desc(buf, off):
    """(version, project, idf) from the esp_app_desc_t of the app image at buf[off:], or None."""
    d = off + 24 + 8  # image header + first segment header
    if len(buf) < d + 256 or struct.unpack_from("<I", buf, d)[0] != APP_DESC_MAGIC:
        return None
    return _cstr(buf[d + 16:d + 48]), _cstr(buf[d + 48:d + 80]), _cstr(buf[d + 112:d + 144])


def parse_partitions(buf):
    out = []
    for i in range(0, PART_TABLE_SIZE, 32):
        e = buf[i:i + 32]
        if len(e) < 32 or e[:2] != PART_MAGIC:
            break  # 0xFFFF ends the table, 0xEBEB is its MD5 entry
        typ, sub, off, size = struct.unpack_from("<BBII", e, 2)
        out.append(Partition(_cstr(e[12:28]), typ, sub, off, size))
    return out


def read_firmware(path):
    """Firmware description of `path`, or UserError saying why it must not be flashed."""
    try:
        with open(path, "rb") as f:
            head = f.read(0x10000 + 512)
            f.seek(0, 2)
            size = f.tell()
    except OSError as e:
        raise UserError("cannot read firmware %s: %s" % (path, e.strerror or e))
    flash_size = _check_header(head, "the image", path)
    pt = PART_TABLE_OFFSET - BOOTLOADER_OFFSET
    if head[pt:pt + 2] == PART_MAGIC:
        parts = parse_partitions(head[pt:pt + PART_TABLE_SIZE])
        apps = [p for p in parts if p.type == 0]
        if not apps:
            raise UserError("%s: its partition table has no app partition" % path)
        app_off = min(p.offset for p in apps) - BOOTLOADER_OFFSET
        app = head[app_off:app_off + 512]
        _check_header(app, "its app (at 0x%x)" % (app_off + BOOTLOADER_OFFSET), path)
        desc = _app_desc(head, app_off) or ("", "", "")
        fw = Firmware(str(path), "combined", size, BOOTLOADER_OFFSET, *desc, flash_size=flash_size,
                      partitions=parts)
        end = BOOTLOADER_OFFSET + size
        apps_end = max(p.offset + p.size for p in apps)
        if end > apps_end:
            raise UserError("%s: %d bytes run past the app partitions (end 0x%x)" % (path, size, apps_end))
        if "ota_0" not in [p.label for p in apps]:
            raise UserError("%s has no ota_0 partition: uPile needs MicroPython's OTA variant "
                            "(ESP32_GENERIC-OTA)" % path)
        return fw
    desc = _app_desc(head, 0)
    if desc is None:
        raise UserError("%s is an ESP32 image but not an application (no app descriptor): "
                        "a bootloader alone?" % path)
    parts = [Partition(*row) for row in OTA_4MIB_TABLE]
    fw = Firmware(str(path), "app", size, 0, *desc, flash_size=4 << 20, partitions=parts)
    ota0 = fw.part("ota_0")
    fw.flash_offset = ota0.offset
    if size > ota0.size:
        raise UserError("%s is %d bytes, larger than the %d-byte app slot" % (path, size, ota0.size))
    return fw


LFS_MAGIC = b"littlefs"


def read_fs_image(path, part):
    """Check a littlefs image fits partition `part` exactly (MicroPython mounts it with the
    partition's block count, and a mount failure makes the firmware format the partition)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            f.seek(0, 2)
            size = f.tell()
    except OSError as e:
        raise UserError("cannot read filesystem image %s: %s" % (path, e.strerror or e))
    if head[8:16] != LFS_MAGIC:
        raise UserError("%s is not a littlefs image (no 'littlefs' superblock): make one with "
                        "`upile fsimage`" % path)
    block_size, block_count = struct.unpack_from("<II", head, 24)
    if block_size != 4096:
        raise UserError("%s uses %d-byte blocks; the ESP32 vfs partition needs 4096" % (path, block_size))
    if block_count * block_size != part.size or size != part.size:
        raise UserError("%s holds %d blocks (%d bytes) but the vfs partition is %d bytes: "
                        "build it with `upile fsimage --size %d`" % (path, block_count, size, part.size, part.size))
    return size
