"""The second-stage bootloader's OTA logic, run by the harness at every hard start.

The partition file (layout in chip/_simparts.py) carries otadata as one JSON line:
{"boot": label, "prev": label, "state": {label: NEW|PENDING_VERIFY|VALID|ABORTED}}.
A NEW boot image runs as PENDING_VERIFY; one still PENDING_VERIFY at the next reset was
never confirmed (mark_app_valid_cancel_rollback), so it becomes ABORTED and the previous
image boots, as with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE on the ESP32.
"""
import json
import sys

from upile import paths

sys.path.insert(0, str(paths.ROOT / "chip"))
from _simparts import FILE_SIZE, TABLE  # noqa: E402  (one layout for chip and harness)

sys.path.pop(0)
ROWS = {r[0]: r for r in TABLE}
_FAKE_IMAGE = bytes([0xE9, 0x04, 0x02, 0x20]) + b"sim-factory-image"


def create(path):
    """A fresh partition file: all 0xFF, ota_0 holding a stub image marked VALID."""
    with open(path, "wb") as f:
        f.write(b"\xff" * FILE_SIZE)
    with open(path, "r+b") as f:
        f.seek(ROWS["ota_0"][3])
        f.write(_FAKE_IMAGE)
    write_otadata(path, {"boot": "ota_0", "prev": "ota_0", "state": {"ota_0": "VALID"}})


def read_otadata(path):
    r = ROWS["otadata"]
    with open(path, "rb") as f:
        f.seek(r[3])
        raw = f.read(r[4])
    line = raw.split(b"\n", 1)[0]
    try:
        d = json.loads(line)
    except ValueError:
        d = None
    return d if isinstance(d, dict) else {"boot": "ota_0", "prev": "ota_0", "state": {"ota_0": "VALID"}}


def write_otadata(path, d):
    r = ROWS["otadata"]
    data = json.dumps(d).encode() + b"\n"
    with open(path, "r+b") as f:
        f.seek(r[3])
        f.write(data + b"\xff" * (r[4] - len(data)))


def boot(path):
    """Decide which app slot runs; returns (label, note) where note names a rollback."""
    d = read_otadata(path)
    state = d.setdefault("state", {})
    label = d.get("boot", "ota_0")
    note = None
    st = state.get(label, "VALID")
    if st == "NEW":
        state[label] = "PENDING_VERIFY"
    elif st == "PENDING_VERIFY":
        state[label] = "ABORTED"
        note = "rollback %s -> %s" % (label, d.get("prev", "ota_0"))
        label = d["boot"] = d.get("prev", "ota_0")
    elif st == "ABORTED":
        label = d["boot"] = d.get("prev", "ota_0")
    write_otadata(path, d)
    return label, note
