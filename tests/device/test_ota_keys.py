# /config/keys.json parsing: ids must match their keys, the threshold must be reachable.
import json
import os

import dsse
from firmware.ota import keys

PUB = bytes(range(32))
PUB2 = bytes(range(1, 33))
KID = dsse.keyid(PUB)


def _hex(b):
    return "".join("%02x" % x for x in b)


def test_keyid_is_16_hex_of_sha256():
    assert KID == "630dcd2966c43366" and len(KID) == 16


def test_valid_ring_and_threshold():
    ring, th = keys.parse({"keys": {KID: _hex(PUB), dsse.keyid(PUB2): _hex(PUB2)}, "threshold": 2})
    assert ring[KID] == PUB and th == 2
    ring, th = keys.parse({"keys": {KID: _hex(PUB)}})
    assert th == 1


def test_rejects_mismatched_id_bad_hex_short_key_and_bad_threshold():
    bad = [
        {"keys": {"0000000000000000": _hex(PUB)}},
        {"keys": {KID: "zz" * 32}},
        {"keys": {KID: _hex(PUB[:31])}},
        {"keys": {KID: _hex(PUB)}, "threshold": 2},
        {"keys": {KID: _hex(PUB)}, "threshold": 0},
        {"keys": {KID: _hex(PUB)}, "threshold": True},
        {"keys": {}},
        {"keys": [KID]},
        [],
    ]
    for obj in bad:
        try:
            keys.parse(obj)
        except keys.KeysError:
            continue
        raise AssertionError("accepted %r" % (obj,))


def test_load_from_file_and_missing_file():
    path = os.getenv("UPILE_TMP") + "/keys.json"
    with open(path, "w") as f:
        f.write(json.dumps({"keys": {KID: _hex(PUB)}, "threshold": 1}))
    assert keys.load(path) == ({KID: PUB}, 1)
    try:
        keys.load(path + ".missing")
    except keys.KeysError as e:
        assert "missing" in str(e)
    else:
        raise AssertionError("no error for a missing file")
