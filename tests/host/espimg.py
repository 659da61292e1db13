"""Builds small but well-formed ESP32 firmware files for tests (no real firmware ships here).

Layout follows ESP-IDF's image format: 8-byte header (magic 0xE9), 16-byte extended header
(chip id at byte 12), segments, checksum byte on a 16-byte boundary, appended SHA-256.
"""
import hashlib
import struct

OTA_TABLE = (
    ("nvs", 1, 0x02, 0x9000, 0x4000),
    ("otadata", 1, 0x00, 0xD000, 0x2000),
    ("phy_init", 1, 0x01, 0xF000, 0x1000),
    ("ota_0", 0, 0x10, 0x10000, 0x180000),
    ("ota_1", 0, 0x11, 0x190000, 0x180000),
    ("vfs", 1, 0x81, 0x310000, 0xF0000),
)


def image(segments, chip_id=0, flash_byte=0x20):
    out = bytearray(struct.pack("<BBBBI", 0xE9, len(segments), 2, flash_byte, 0x40080000))
    out += struct.pack("<BBBBHBHH4sB", 0xEE, 0, 0, 0, chip_id, 0, 0, 0xFFFF, b"\0" * 4, 1)
    chk = 0xEF
    for addr, data in segments:
        out += struct.pack("<II", addr, len(data)) + data
        for b in data:
            chk ^= b
    out += b"\0" * (15 - len(out) % 16) + bytes([chk])
    out += hashlib.sha256(out).digest()
    return bytes(out)


def app_desc(version, project="micropython", idf="v5.4.2"):
    d = struct.pack("<IIII", 0xABCD5432, 0, 0, 0)
    d += version.encode().ljust(32, b"\0") + project.encode().ljust(32, b"\0")
    d += b"12:00:00".ljust(16, b"\0") + b"Jan  1 2026".ljust(16, b"\0") + idf.encode().ljust(32, b"\0")
    d += hashlib.sha256(version.encode()).digest()
    return d.ljust(256, b"\0")


def app_image(version="v1.29.0", chip_id=0, body=20000, seed=1):
    filler = bytes((i * 131 + seed * 7) & 0xFF for i in range(body))
    filler = filler[: len(filler) // 4 * 4]
    return image([(0x3F400020, app_desc(version) + filler), (0x40080000, filler[:4096])], chip_id)


def bootloader_image(chip_id=0):
    return image([(0x3FFF0030, bytes(range(256)) * 8), (0x40078000, b"\x01\x02\x03\x04" * 512)], chip_id)


def partition_table(rows=OTA_TABLE):
    out = bytearray()
    for label, typ, sub, off, size in rows:
        out += b"\xaa\x50" + struct.pack("<BBII", typ, sub, off, size) + label.encode().ljust(16, b"\0") + b"\0" * 4
    out += b"\xeb\xeb" + b"\xff" * 14 + hashlib.md5(out).digest()
    return bytes(out).ljust(0xC00, b"\xff")


def combined_image(version="v1.29.0", chip_id=0, rows=OTA_TABLE):
    """What micropython.org ships for ESP32_GENERIC-OTA: flash contents from 0x1000."""
    out = bytearray(bootloader_image(chip_id)).ljust(0x7000, b"\xff")
    out += partition_table(rows)
    out = out.ljust(0xF000, b"\xff")
    out += app_image(version, chip_id)
    return bytes(out)
