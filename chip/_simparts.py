"""Layout of the sim chip's partition file (shared with the harness's bootloader model).

Offsets equal the ESP32 OTA build's flash addresses (partitions-4MiB-ota.csv); the
littlefs `vfs` partition is the separate flash file. otadata holds one JSON line (boot
label, previous label, state per app slot) followed by 0xFF.
"""
TABLE = (
    # label, type, subtype, addr, size
    ("nvs", 1, 0x02, 0x9000, 0x4000),
    ("otadata", 1, 0x00, 0xD000, 0x2000),
    ("ota_0", 0, 0x10, 0x10000, 0x180000),
    ("ota_1", 0, 0x11, 0x190000, 0x180000),
)
FILE_SIZE = 0x310000
