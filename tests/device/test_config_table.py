# Every bad value of every section is refused by config.validate inside micropython with the
# exact message of the table (tests/device/cfgtable.py), naming the key (ConfigError.key) and
# never showing a secret; the good configs pass and build a complete config. The same table
# runs under CPython and through `upile provision` in tests/host/test_config_validate.py.
import cfgtable
from firmware import config


def _refusal(partial):
    try:
        config.validate(partial)
    except config.ConfigError as e:
        return e
    return None


def _check(cases):
    bad = []
    for partial, msg in cases:
        e = _refusal(partial)
        if e is None:
            bad.append("accepted: %s (want %s)" % (partial, msg))
            continue
        if e.args[0] != msg:
            bad.append("%s\n   got  %s\n   want %s" % (partial, e.args[0], msg))
        for s in cfgtable.secrets(config, partial):
            if s in e.args[0]:
                bad.append("secret shown: " + e.args[0])
        key = msg.split(":", 1)[0].split("[", 1)[0]
        if "." in key and " " not in key and e.key != key:
            bad.append("%s: key %r, want %r" % (msg, e.key, key))
    assert not bad, "\n".join(bad)


def test_every_key_refuses_wrong_types_and_out_of_range_values():
    keys = set()
    n = 0
    for partial, msg in cfgtable.schema_cases(config):
        _check(((partial, msg),))
        for sec, vals in partial.items():
            for k in vals:
                keys.add(sec + "." + k)
        n += 1
    every = set(s + "." + k for s in config.SCHEMA for k in config.SCHEMA[s])
    assert keys == every, every - keys  # the table covers every key of the schema
    assert n >= 3 * len(every) - 20, n  # a type error and both bounds for nearly every key


def test_every_semantic_rule_refuses_with_its_message():
    _check(cfgtable.RULES)
    # each rule function of config.RULES is exercised by at least one case of the table
    sections = set(m.split(":", 1)[0].split(".")[0] for _, m in cfgtable.RULES)
    for sec, _, _ in config.RULES:
        assert sec in sections or sec == "board", sec


def test_whole_file_and_section_shape_errors():
    _check(cfgtable.WHOLE)
    e = _refusal({"pile": {"portz": 4}})
    assert e.unknown and e.key == "pile.portz"
    assert not _refusal({"pile": {"ports": 99}}).unknown


def test_good_configs_pass_complete():
    for partial in cfgtable.GOOD:
        cfg = config.validate(partial)
        assert sorted(cfg) == sorted(config.SCHEMA)
        for sec, vals in partial.items():
            for k, v in vals.items():
                assert cfg[sec][k] == v


def test_validation_leaves_no_rules_module_in_the_heap():
    import sys

    before = set(sys.modules)
    config.validate({"ota": {"window": "22:00-04:00"}})
    _refusal({"ota": {"window": "bad"}})
    assert set(sys.modules) == before, set(sys.modules) ^ before
