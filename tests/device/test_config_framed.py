# Device config as `upile provision` writes it (fsatomic framing) and as a person writes it (plain JSON).
import os

import fsatomic
from firmware import config

_DIR = os.getenv("UPILE_TMP") or "."


def _path(name):
    return _DIR + "/" + name


def test_framed_config_written_by_provision_loads():
    p = _path("pile.json")
    fsatomic.write_json(p, {"pile": {"id": "PILE-0042", "ports": 12}})
    cfg = config.load(p)
    assert cfg["pile"]["id"] == "PILE-0042" and cfg["pile"]["ports"] == 12
    assert cfg["pile"]["product"] == config.defaults()["pile"]["product"]


def test_plain_json_still_loads():
    p = _path("plain.json")
    with open(p, "w") as f:
        f.write('{"pile": {"ports": 16}}')
    assert config.load(p)["pile"]["ports"] == 16


def test_damaged_framed_config_is_a_config_error():
    p = _path("bad.json")
    fsatomic.write_json(p, {"pile": {"ports": 12}})
    with open(p, "rb") as f:
        data = bytearray(f.read())
    data[-2] ^= 0x01
    with open(p, "wb") as f:
        f.write(data)
    try:
        config.load(p)
    except config.ConfigError as e:
        assert "damaged" in e.args[0]
    else:
        raise AssertionError("a damaged config loaded")


def test_missing_config_gives_defaults():
    assert config.load(_path("none.json")) == config.defaults()
