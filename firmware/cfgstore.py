"""The stored device config and its changes: the one way to change a pile's config at run
time (remote protocols: OCPP ChangeConfiguration, DNY parameter commands; `upile provision`
on the board). A change is validated against the stored config with config.validate (every
section's rules, docs/config.md), then written atomically; the running app takes it at its
next start, where firmware/cfgguard.py still guards it.

    stored = config.read() or {}
    new, complete = cfgstore.change(stored, {"ota": {"window": "01:00-05:00"}})  # or ConfigError
    cfgstore.write(new)                                                         # atomic
"""
from firmware import config


def change(stored, partial):
    """Validate a partial change against the stored config: the one entry point for remote
    protocols (OCPP ChangeConfiguration, DNY parameter commands) and local tools.

    stored: the config as the file holds it (config.read(), {} when none); partial: {section: {key:
    value}}, a value of None (JSON null) puts the key back to its default. Returns (new_stored,
    complete): what write() should store (still only the keys set, so a later firmware's
    defaults reach the rest) and the complete validated config. Raises ConfigError naming the
    key (e.unknown for keys this firmware does not have). Nothing is written here."""
    if not isinstance(partial, dict):
        raise config.ConfigError("change: expected an object, got %s" % config.describe(partial))
    new = {}
    for sec, vals in (stored or {}).items():
        new[sec] = dict(vals) if isinstance(vals, dict) else vals
    for sec, vals in partial.items():
        if sec not in config.SCHEMA:
            raise config.ConfigError("unknown section %s" % config.describe(sec), str(sec), True)
        if not isinstance(vals, dict):
            raise config.ConfigError("%s: expected an object, got %s" % (sec, config.describe(vals)), sec)
        cur = new.setdefault(sec, {})
        if not isinstance(cur, dict):  # validate() below names the damage
            continue
        for key, val in vals.items():
            if val is None:
                if key not in config.SCHEMA[sec]:
                    raise config.ConfigError("unknown key %s.%s" % (sec, key), sec + "." + key, True)
                cur.pop(key, None)
            else:
                cur[key] = val
        if not cur:
            del new[sec]
    return new, config.validate(new)


def write(stored, path=config.PATH):
    """Validate `stored` and replace `path` with it atomically (fsatomic: temp file, CRC frame,
    rename: a power cut leaves the old or the new file, never a mix), then read it back.
    Returns the complete config; raises ConfigError (nothing written) or OSError."""
    import json

    import fsatomic

    complete = config.validate(stored)
    data = json.dumps(stored)
    fsatomic.mkdirs(path[: path.rfind("/")] or "/")
    fsatomic.write(path, data)
    if fsatomic.read(path) != data.encode():
        raise OSError(5, "%s read back differs" % path)  # EIO: the flash did not keep it
    return complete
