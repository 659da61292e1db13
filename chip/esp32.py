"""The sim chip's `esp32`: Partition (with the bootloader's OTA states) and NVS over the
partition file the harness gives the chip (opened by _start.py before '/' is remounted).

The bootloader itself is the harness's (tools/upile/sim/bootloader.py): at every hard
start it promotes a NEW image to PENDING_VERIFY, or rolls a PENDING_VERIFY one that was
never confirmed back to the previous slot (ABORTED), and tells the chip which slot runs.
"""
import json
import os
import _simlink
from _simparts import TABLE

_SECTOR = 4096
_ESP_ERR_NVS_NOT_FOUND = -0x1102
_ESP_ERR_NVS_TYPE_MISMATCH = -0x1103
_ESP_ERR_NVS_KEY_TOO_LONG = -0x1109
_ESP_ERR_NVS_INVALID_LENGTH = -0x110C
_ESP_ERR_NVS_NOT_ENOUGH_SPACE = -0x1105
_ESP_ERR_OTA_VALIDATE_FAILED = -0x1503  # -5379
_ENOENT = 2
_EIO = 5
_EINVAL = 22


def _file():
    f = _simlink.parts
    if f is None:
        raise OSError(_EIO)
    return f


def _read_json(addr, size):
    f = _file()
    f.seek(addr)
    raw = f.read(size)
    end = raw.find(b"\n")
    if end <= 0:
        return None
    try:
        return json.loads(raw[:end])
    except ValueError:
        return None


def _write_json(addr, size, obj):
    data = json.dumps(obj).encode() + b"\n"
    if len(data) > size:
        return False
    f = _file()
    f.seek(addr)
    f.write(data + b"\xff" * (size - len(data)))
    f.flush()
    return True


def _row(label):
    for r in TABLE:
        if r[0] == label:
            return r
    return None


def _otadata():
    r = _row("otadata")
    d = _read_json(r[3], r[4])
    return d or {"boot": "ota_0", "prev": "ota_0", "state": {"ota_0": "VALID"}}


def _save_otadata(d):
    r = _row("otadata")
    _write_json(r[3], r[4], d)


class Partition:
    BOOT = 0
    RUNNING = 1
    TYPE_APP = 0
    TYPE_DATA = 1

    def __init__(self, id, block_size=4096):
        if id == Partition.BOOT:
            id = _otadata()["boot"]
        elif id == Partition.RUNNING:
            id = os.getenv("UPILE_SIM_RUNNING") or "ota_0"
        r = _row(id)
        if r is None:
            raise ValueError("partition not found")
        self._label, self._type, self._subtype, self._addr, self._size = r
        if block_size < 1 or self._size % block_size:
            raise ValueError("invalid block size")
        self._bs = block_size

    @staticmethod
    def find(type=TYPE_APP, subtype=0xFF, label=None, block_size=4096):
        out = []
        for r in TABLE:
            if r[1] == type and (subtype == 0xFF or r[2] == subtype) and (label is None or r[0] == label):
                out.append(Partition(r[0], block_size))
        return out

    def info(self):
        return (self._type, self._subtype, self._addr, self._size, self._label, False)

    def _at(self, block, off, n):
        start = block * self._bs + off
        if block < 0 or off < 0 or start + n > self._size:
            raise OSError(_EINVAL)
        return self._addr + start

    def readblocks(self, block_num, buf, offset=0):
        f = _file()
        f.seek(self._at(block_num, offset, len(buf)))
        f.readinto(buf)

    def writeblocks(self, block_num, buf, offset=None):
        f = _file()
        if offset is None:
            # erase whole 4 KiB sectors, then program (esp_partition_erase_range + write)
            start = self._at(block_num, 0, len(buf))
            if (start - self._addr) % _SECTOR:
                raise OSError(_EINVAL)
            n = (len(buf) + _SECTOR - 1) // _SECTOR * _SECTOR
            if start + n > self._addr + self._size:
                raise OSError(_EINVAL)
            f.seek(start)
            f.write(b"\xff" * n)
            f.seek(start)
            f.write(buf)
        else:
            # NOR programming without erase: bits can only go from 1 to 0
            start = self._at(block_num, offset, len(buf))
            f.seek(start)
            old = f.read(len(buf))
            both = int.from_bytes(old, "big") & int.from_bytes(bytes(buf), "big")
            f.seek(start)
            f.write(both.to_bytes(len(buf), "big"))
        f.flush()

    def ioctl(self, cmd, arg):
        if cmd == 4:
            return self._size // self._bs
        if cmd == 5:
            return self._bs
        if cmd == 6:
            start = self._at(arg, 0, self._bs)
            f = _file()
            f.seek(start)
            f.write(b"\xff" * self._bs)
            f.flush()
            return 0
        return 0 if cmd in (1, 2, 3) else None

    def set_boot(self):
        if self._type != Partition.TYPE_APP:
            raise OSError(_EINVAL)
        head = bytearray(1)
        self.readblocks(0, head)
        if head[0] != 0xE9:  # esp_image_verify: an image starts with magic 0xE9
            raise OSError(_ESP_ERR_OTA_VALIDATE_FAILED)
        d = _otadata()
        d["prev"] = os.getenv("UPILE_SIM_RUNNING") or d.get("boot", "ota_0")
        d["boot"] = self._label
        d.setdefault("state", {})[self._label] = "NEW"
        _save_otadata(d)

    def get_next_update(self):
        if self._type != Partition.TYPE_APP:
            raise OSError(_ENOENT)
        return Partition("ota_1" if self._label == "ota_0" else "ota_0", self._bs)

    @staticmethod
    def mark_app_valid_cancel_rollback():
        d = _otadata()
        run = os.getenv("UPILE_SIM_RUNNING") or "ota_0"
        d.setdefault("state", {})[run] = "VALID"
        _save_otadata(d)

    def __repr__(self):
        return "<Partition type=%d, subtype=%d, address=%d, size=%d, label=%s, encrypted=0>" % (
            self._type, self._subtype, self._addr, self._size, self._label)


class NVS:
    """Namespaced i32/blob store in the 16 KiB nvs partition; nothing lands before commit()."""

    def __init__(self, namespace):
        if not namespace or len(namespace) > 15:
            raise OSError(_ESP_ERR_NVS_KEY_TOO_LONG)
        self._ns = namespace
        self._pending = {}

    @staticmethod
    def _load():
        r = _row("nvs")
        return _read_json(r[3], r[4]) or {}

    def _get(self, key):
        if key in self._pending:
            v = self._pending[key]
        else:
            v = self._load().get(self._ns, {}).get(key)
        if v is None:
            raise OSError(_ESP_ERR_NVS_NOT_FOUND)
        return v

    @staticmethod
    def _key(key):
        if not key or len(key) > 15:
            raise OSError(_ESP_ERR_NVS_KEY_TOO_LONG)

    def set_i32(self, key, value):
        self._key(key)
        if not -0x80000000 <= value <= 0x7FFFFFFF:
            raise OverflowError("value does not fit in i32")
        self._pending[key] = ["i", value]

    def get_i32(self, key):
        v = self._get(key)
        if v[0] != "i":
            raise OSError(_ESP_ERR_NVS_TYPE_MISMATCH)
        return v[1]

    def set_blob(self, key, value):
        self._key(key)
        self._pending[key] = ["b", bytes(value).hex()]

    def get_blob(self, key, buffer):
        v = self._get(key)
        if v[0] != "b":
            raise OSError(_ESP_ERR_NVS_TYPE_MISMATCH)
        data = bytes.fromhex(v[1])
        if len(buffer) < len(data):
            raise OSError(_ESP_ERR_NVS_INVALID_LENGTH)
        buffer[: len(data)] = data
        return len(data)

    def erase_key(self, key):
        self._get(key)
        self._pending[key] = None

    def commit(self):
        d = self._load()
        ns = d.setdefault(self._ns, {})
        for k, v in self._pending.items():
            if v is None:
                ns.pop(k, None)
            else:
                ns[k] = v
        r = _row("nvs")
        if not _write_json(r[3], r[4], d):
            raise OSError(_ESP_ERR_NVS_NOT_ENOUGH_SPACE)
        self._pending = {}


HEAP_DATA = 4
HEAP_EXEC = 1
WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True


def raw_temperature():
    return 120


def idf_heap_info(capabilities):
    return [(100000, 60000, 40000, 50000)]
