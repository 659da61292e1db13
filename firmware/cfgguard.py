"""A bad /config/pile.json must not stop the pile (a confirmed slot would reset in a loop).

load() validates the config file; when it is rejected the pile runs with the last config
that validated and ran healthy (/config/pile.good.json, written atomically by healthy()),
or with the defaults when there is none, and says so: one log line with the reason and a
`config` entry in firmware.diag (`upile status`). During a trial boot a rejected config
still raises: the new app disagrees with this pile's config, so it fails its trial and
the boot rolls back to the app that accepted it (lib/bootchoice.py).
"""
import json

import fsatomic
import log
from firmware import config

GOOD = "/config/pile.good.json"
_log = log.get("config")

status = {"ok": True, "using": "file", "error": None}  # what diag and `upile status` show
_text = None  # the validated file's JSON text: the next last-good copy


def _read(path):
    """JSON text of a config file (framed by fsatomic or plain), or None when absent."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    if raw[:4] == b"UPA1":
        try:
            raw = fsatomic.read(path)
        except fsatomic.Corrupt as e:
            raise config.ConfigError("%s is damaged: %s" % (path, e.args[0]))
    return raw


def _parse(path, raw):
    try:
        return config.validate(json.loads(raw))
    except ValueError as e:  # ConfigError is one; json's errors too
        if isinstance(e, config.ConfigError):
            raise
        raise config.ConfigError("%s is not valid JSON" % path)


def load(path=config.PATH, good=GOOD, trial=None):
    """The config to run with (never raises outside a trial); see the module docstring."""
    global _text
    from firmware import diag

    diag.register("config", lambda: dict(status))
    if trial is None:
        import thisboot

        trial = thisboot.trial
    try:
        raw = _read(path)
        if raw is None:
            status.update(ok=True, using="defaults", error=None)
            return config.defaults()
        cfg = _parse(path, raw)
        _text = raw
        status.update(ok=True, using="file", error=None)
        return cfg
    except config.ConfigError as e:
        if trial:
            raise
        reason = e.args[0]
    _text = None
    try:
        raw = _read(good)
        cfg = _parse(good, raw) if raw is not None else None
    except config.ConfigError as e:
        _log.error("last good config unusable too: %s", e.args[0])
        cfg = None
    using = "last_good" if cfg is not None else "defaults"
    _log.error("CONFIG REJECTED %s: running with %s", reason, "the last good copy " + good if cfg else "defaults")
    log.flush()
    status.update(ok=False, using=using, error=reason)
    return cfg if cfg is not None else config.defaults()


def healthy(good=GOOD):
    """The app ran healthy with the validated file: keep it as the last good copy (only
    written when it changed, so a healthy boot costs no flash wear)."""
    if _text is None:
        return False
    try:
        old = fsatomic.read(good)
    except fsatomic.Corrupt:
        old = None
    if old == _text:
        return False
    fsatomic.write(good, _text)
    return True
