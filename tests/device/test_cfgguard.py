# A rejected /config/pile.json never stops a confirmed pile: it runs with the last good copy
# (written when a validated config ran healthy) or the defaults, and reports the error in the
# log and in firmware.diag (`upile status`). The semantic rules of every section count, and a
# config that validates but keeps the app from starting is refused after MAX_STARTS starts.
# During a trial the error still escapes (rollback) and nothing is counted.
import json
import os

import fsatomic
import log
from firmware import cfgguard, config, diag

TMP = os.getenv("UPILE_TMP")
CFG = TMP + "/config/pile.json"
GOOD = TMP + "/config/pile.good.json"
TRY = TMP + "/config/pile.try.json"
HARD, PWRON = 2, 1


def setup():
    fsatomic.mkdirs(TMP + "/config")
    fsatomic.mkdirs(TMP + "/log")
    for p in (CFG, GOOD, TRY):
        fsatomic.remove(p)
    log.enable_ring(TMP + "/log", 4096)


def _ring():
    log.flush()
    with open(TMP + "/log/log.0") as f:
        return f.read()


def _load(cause=PWRON):
    return cfgguard.load(CFG, GOOD, trial=False, try_path=TRY, cause=cause)


def test_good_file_is_used_and_becomes_the_last_good_copy_when_healthy():
    fsatomic.write(CFG, json.dumps({"pile": {"id": "PILE-7", "ports": 4}}))
    cfg = _load()
    assert cfg["pile"]["ports"] == 4 and cfg["pile"]["id"] == "PILE-7"
    assert diag.snapshot()["config"] == {"ok": True, "using": "file", "error": None}
    assert fsatomic.read(GOOD) is None  # not before the app ran healthy
    assert cfgguard.healthy(GOOD, TRY) is True
    assert json.loads(fsatomic.read(GOOD)) == {"pile": {"id": "PILE-7", "ports": 4}}
    assert cfgguard.healthy(GOOD, TRY) is False  # unchanged: no flash write on every healthy boot


def test_bad_file_falls_back_to_the_last_good_copy_and_reports_why():
    fsatomic.write(CFG, json.dumps({"pile": {"ports": 2}}))
    _load()
    cfgguard.healthy(GOOD, TRY)
    fsatomic.write(CFG, json.dumps({"pile": {"ports": 99}}))  # a bad provisioning
    cfg = _load()
    assert cfg["pile"]["ports"] == 2  # the last good config, not the defaults (10)
    st = diag.snapshot()["config"]
    assert st["ok"] is False and st["using"] == "last_good" and "pile.ports: 99 is above 16" in st["error"]
    assert "CONFIG REJECTED pile.ports: 99 is above 16" in _ring()
    # the bad file never becomes the good copy, however healthy the app runs
    assert cfgguard.healthy(GOOD, TRY) is False
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


# one semantic bad value per section (each domain's rules, and the cross-section board rules):
# each one made a constructor raise at every boot before the rules ran with the config
SEMANTIC = (
    ({"ota": {"window": "bad"}}, "ota.window: 'bad': expected HH:MM-HH:MM"),
    ({"tariff": {"mode": "flat"}}, "tariff.mode: 'flat' is not one of time, tiers, energy"),
    ({"net": {"order": "lte,wifi"}}, "net.order: 'lte,wifi' is not one of"),
    ({"wifi": {"networks": [{"ssid": ""}]}}, "wifi.networks[0].ssid: expected 1-32 bytes of text"),
    ({"budget": {"defer": "some"}}, "budget.defer: 'some' is not one of image, all"),
    ({"meter": {"chip": "hlw8012"}}, "meter.chip: 'hlw8012' is not one of"),
    ({"charging": {"board": "esp32-99p"}}, "charging.board: unknown board 'esp32-99p'"),
    ({"charging": {"admit_w": 9000}}, "charging.admit_w: 9000 is above charging.cap_w 8700"),
    ({"service": {"tx": 18, "rx": 39}}, "service.tx: GPIO18 is already used by modem.tx"),
    ({"modem": {"pin": "12ab"}}, "modem.pin: expected 4-8 digits"),
    ({"pile": {"ports": 3}, "charging": {"board": "esp32-2p"}}, "pile.ports: 3 ports, board esp32-2p has 2 relays"),
)


def test_every_section_rule_falls_back_to_the_last_good_copy():
    fsatomic.write(GOOD, json.dumps({"pile": {"ports": 2}}))
    for bad, why in SEMANTIC:
        fsatomic.write(CFG, json.dumps(bad))
        cfg = _load()
        assert cfg["pile"]["ports"] == 2, bad  # the last good copy
        st = diag.snapshot()["config"]
        assert st["ok"] is False and st["using"] == "last_good" and st["error"].startswith(why), (bad, st)
        assert "CONFIG REJECTED " + why in _ring(), why


def test_a_config_that_keeps_the_app_from_starting_is_refused_after_max_starts():
    fsatomic.write(GOOD, json.dumps({"pile": {"ports": 2}}))
    fsatomic.write(CFG, json.dumps({"pile": {"ports": 5}}))
    # power-on: tried, not counted (a power cut while starting says nothing about the config)
    assert _load(PWRON)["pile"]["ports"] == 5 and fsatomic.read(TRY) is None
    for n in range(1, cfgguard.MAX_STARTS + 1):  # each reset after a failed start counts one
        assert _load(HARD)["pile"]["ports"] == 5
        assert json.loads(fsatomic.read(TRY))["starts"] == n
    cfg = _load(HARD)
    assert cfg["pile"]["ports"] == 2
    st = diag.snapshot()["config"]
    assert st["using"] == "last_good" and st["error"] == (
        CFG + ": the app did not start with it in 3 boots (last failure: not recorded)"), st
    assert "CONFIG REJECTED " + CFG + ": the app did not start" in _ring()
    assert cfgguard.healthy(GOOD, TRY) is False  # it never becomes the good copy
    # provisioning another config starts a new count
    fsatomic.write(CFG, json.dumps({"pile": {"ports": 6}}))
    assert _load(HARD)["pile"]["ports"] == 6 and json.loads(fsatomic.read(TRY))["starts"] == 1


def test_a_start_that_gets_through_is_not_counted_and_healthy_ends_the_count():
    fsatomic.write(GOOD, json.dumps({"pile": {"ports": 2}}))
    fsatomic.write(CFG, json.dumps({"pile": {"ports": 5}}))
    for _ in range(2 * cfgguard.MAX_STARTS):  # e.g. `upile status` resets it again and again
        assert _load(HARD)["pile"]["ports"] == 5
        cfgguard.started()
        assert fsatomic.read(TRY) is None
    assert cfgguard.healthy(GOOD, TRY) is True
    assert json.loads(fsatomic.read(GOOD)) == {"pile": {"ports": 5}}
    _load(HARD)  # proven: nothing counted or written any more
    assert fsatomic.read(TRY) is None


def test_a_trial_counts_nothing():
    fsatomic.write(GOOD, json.dumps({"pile": {"ports": 2}}))
    fsatomic.write(CFG, json.dumps({"pile": {"ports": 5}}))
    for _ in range(cfgguard.MAX_STARTS + 2):
        cfg = cfgguard.load(CFG, GOOD, trial=True, try_path=TRY, cause=HARD)
        assert cfg["pile"]["ports"] == 5
    assert fsatomic.read(TRY) is None


def test_the_validator_leaves_the_heap_once_the_config_is_loaded():
    import sys

    config.forget(["firmware.config"])  # as at boot: nothing has loaded it yet
    try:
        fsatomic.write(CFG, json.dumps({"pile": {"ports": 3}}))
        assert _load()["pile"]["ports"] == 3
        assert "firmware.config" not in sys.modules  # the running app keeps the dict only
        for mod in sys.modules:
            assert not mod.endswith(".rules"), mod
    finally:
        sys.modules["firmware.config"] = config
