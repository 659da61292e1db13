# A rejected /config/pile.json never stops a confirmed pile: it runs with the last good copy
# (written when a validated config ran healthy) or the defaults, and reports the error in the
# log and in firmware.diag (`upile status`). During a trial the error still escapes (rollback).
import json
import os

import fsatomic
import log
from firmware import cfgguard, config, diag

TMP = os.getenv("UPILE_TMP")
CFG = TMP + "/config/pile.json"
GOOD = TMP + "/config/pile.good.json"


def setup():
    fsatomic.mkdirs(TMP + "/config")
    fsatomic.mkdirs(TMP + "/log")
    for p in (CFG, GOOD):
        fsatomic.remove(p)
    log.enable_ring(TMP + "/log", 4096)


def _ring():
    log.flush()
    with open(TMP + "/log/log.0") as f:
        return f.read()


def _load():
    return cfgguard.load(CFG, GOOD, trial=False)


def test_good_file_is_used_and_becomes_the_last_good_copy_when_healthy():
    fsatomic.write(CFG, json.dumps({"pile": {"id": "PILE-7", "ports": 4}}))
    cfg = _load()
    assert cfg["pile"]["ports"] == 4 and cfg["pile"]["id"] == "PILE-7"
    assert diag.snapshot()["config"] == {"ok": True, "using": "file", "error": None}
    assert fsatomic.read(GOOD) is None  # not before the app ran healthy
    assert cfgguard.healthy(GOOD) is True
    assert json.loads(fsatomic.read(GOOD)) == {"pile": {"id": "PILE-7", "ports": 4}}
    assert cfgguard.healthy(GOOD) is False  # unchanged: no flash write on every healthy boot


def test_bad_file_falls_back_to_the_last_good_copy_and_reports_why():
    fsatomic.write(CFG, json.dumps({"pile": {"ports": 2}}))
    _load()
    cfgguard.healthy(GOOD)
    fsatomic.write(CFG, json.dumps({"pile": {"ports": 99}}))  # a bad provisioning
    cfg = _load()
    assert cfg["pile"]["ports"] == 2  # the last good config, not the defaults (10)
    st = diag.snapshot()["config"]
    assert st["ok"] is False and st["using"] == "last_good" and "pile.ports: 99 is above 16" in st["error"]
    assert "CONFIG REJECTED pile.ports: 99 is above 16" in _ring()
    # the bad file never becomes the good copy, however healthy the app runs
    assert cfgguard.healthy(GOOD) is False
    assert json.loads(fsatomic.read(GOOD)) == {"pile": {"ports": 2}}


def test_without_a_good_copy_the_defaults_run():
    with open(CFG, "w") as f:
        f.write('{"pile": {"ports": ')  # cut short while written by hand
    cfg = _load()
    assert cfg == config.defaults()
    st = diag.snapshot()["config"]
    assert st == {"ok": False, "using": "defaults", "error": CFG + " is not valid JSON"}


def test_damaged_framed_file_and_damaged_good_copy_give_defaults():
    fsatomic.write(CFG, json.dumps({"pile": {"ports": 3}}))
    with open(CFG, "r+b") as f:  # flip a data byte: CRC mismatch
        f.seek(14)
        f.write(b"X")
    fsatomic.write(GOOD, "not json")
    cfg = _load()
    assert cfg == config.defaults()
    st = diag.snapshot()["config"]
    assert st["using"] == "defaults" and "damaged: bad_crc" in st["error"]
    assert "last good config unusable too" in _ring()


def test_absent_file_means_defaults_without_an_error():
    assert _load() == config.defaults()
    assert diag.snapshot()["config"] == {"ok": True, "using": "defaults", "error": None}


def test_during_a_trial_the_error_escapes_so_the_trial_fails():
    fsatomic.write(GOOD, json.dumps({"pile": {"ports": 2}}))
    fsatomic.write(CFG, json.dumps({"pile": {"portz": 2}}))
    try:
        cfgguard.load(CFG, GOOD, trial=True)
    except config.ConfigError as e:
        assert "unknown key pile.portz" in e.args[0]
    else:
        raise AssertionError("a trial app must not hide a rejected config")
