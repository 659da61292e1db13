# Device config as `upile provision` writes it (fsatomic framing) and as a person writes it (plain JSON).
import os

import fsatomic
from firmware import cfgstore, config

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


def test_write_refuses_a_bad_config_and_keeps_the_old_file():
    p = _path("w.json")
    assert cfgstore.write({"pile": {"id": "PILE-7"}}, p)["pile"]["id"] == "PILE-7"
    before = fsatomic.read(p)
    for bad in ({"ota": {"window": "25:00-01:00"}}, {"pile": {"portz": 1}}, {"charging": {"admit_w": 9999}}):
        try:
            cfgstore.write(bad, p)
            raise AssertionError("wrote %r" % bad)
        except config.ConfigError:
            pass
        assert fsatomic.read(p) == before
    assert config.read(p) == {"pile": {"id": "PILE-7"}}


def test_a_remote_change_is_validated_against_the_stored_config_then_written():
    # what OCPP ChangeConfiguration / a DNY parameter command will do (docs/config.md)
    p = _path("remote.json")
    cfgstore.write({"pile": {"id": "PILE-7"}, "charging": {"cap_w": 6000, "admit_w": 5000}}, p)
    stored = config.read(p)
    try:  # a value fine on its own that breaks a rule with the stored config: refused, named
        cfgstore.change(stored, {"charging": {"admit_w": 6500}})
        raise AssertionError("accepted admit_w above the stored cap")
    except config.ConfigError as e:
        assert e.key == "charging.admit_w" and not e.unknown
        assert e.args[0] == "charging.admit_w: 6500 is above charging.cap_w 6000"
    try:
        cfgstore.change(stored, {"modbus": {"address": 7}})
        raise AssertionError("accepted an unknown section")
    except config.ConfigError as e:
        assert e.unknown and e.key == "modbus"
    new, cfg = cfgstore.change(stored, {"ota": {"window": "22:00-04:00"}, "charging": {"cap_w": None}})
    # null puts cap_w back to its default (8700); what is stored stays only what was set
    assert cfg["ota"]["window"] == "22:00-04:00" and cfg["charging"]["cap_w"] == 8700
    assert new == {"pile": {"id": "PILE-7"}, "charging": {"admit_w": 5000}, "ota": {"window": "22:00-04:00"}}
    assert config.read(p) == stored  # change() writes nothing
    assert cfgstore.write(new, p) == cfg
    assert config.read(p) == new and config.load(p) == cfg
