"""Device configuration: defaults in one place, a schema, and a loader.

Runs on MicroPython (the device loads /config/pile.json) and on CPython (`upile provision`
validates with this same module before writing anything). SCHEMA maps section -> key ->
(type, default, lo, hi): type is int, str, bool, list or dict; lo/hi bound ints (and the
length of str/list) when not None. Each domain owns its own section.
"""

SCHEMA = {
    "pile": {
        "id": (str, "PILE-0001", 1, 64),
        "product": (str, "upile-ebike-10", 1, 64),
        "ports": (int, 10, 1, 16),
    },
}


class ConfigError(ValueError):
    """args[0] names the key and what was wrong with it."""


def defaults():
    return {sec: {k: v[1] for k, v in keys.items()} for sec, keys in SCHEMA.items()}


def _check(sec, key, val):
    typ, _, lo, hi = SCHEMA[sec][key]
    name = sec + "." + key
    if typ is int and (type(val) is bool or not isinstance(val, int)):
        raise ConfigError("%s: expected an integer, got %r" % (name, val))
    if typ is not int and not isinstance(val, typ):
        raise ConfigError("%s: expected %s, got %r" % (name, typ.__name__, val))
    size = val if typ is int else (len(val) if typ in (str, list) else None)
    if size is not None:
        if lo is not None and size < lo:
            raise ConfigError("%s: %r is below %d" % (name, val, lo))
        if hi is not None and size > hi:
            raise ConfigError("%s: %r is above %d" % (name, val, hi))


def validate(cfg):
    """Return a complete config (defaults filled in) or raise ConfigError; unknown keys rejected."""
    if not isinstance(cfg, dict):
        raise ConfigError("config: expected an object")
    out = defaults()
    for sec, vals in cfg.items():
        if sec not in SCHEMA:
            raise ConfigError("unknown section %r" % sec)
        if not isinstance(vals, dict):
            raise ConfigError("%s: expected an object" % sec)
        for key, val in vals.items():
            if key not in SCHEMA[sec]:
                raise ConfigError("unknown key %s.%s" % (sec, key))
            _check(sec, key, val)
            out[sec][key] = val
    return out


PATH = "/config/pile.json"


def load(path=PATH):
    """Config from flash, validated; defaults when absent. A bad file raises ConfigError.

    `upile provision` writes the file through fsatomic (framed, CRC-checked, replaced by
    rename); a plain JSON file (written by hand over mpremote) is read as it is.
    """
    import json

    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return defaults()
    if raw[:4] == b"UPA1":
        import fsatomic

        try:
            raw = fsatomic.read(path)
        except fsatomic.Corrupt as e:
            raise ConfigError("%s is damaged: %s" % (path, e.args[0]))
    try:
        cfg = json.loads(raw)
    except ValueError:
        raise ConfigError("%s is not valid JSON" % path)
    return validate(cfg)
