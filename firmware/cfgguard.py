"""A bad /config/pile.json never stops the pile, nor makes it reset in a loop.

load() validates the config file with config.validate (every section's rules). When it is
rejected (bad value, damaged frame, not JSON) the pile runs with the last config that
validated and ran healthy (/config/pile.good.json, written atomically by healthy()), or
with the defaults when there is none, and says why: one ERROR line in the persistent log
(lib/log.py ring: `upile logs`) and a `config` entry in firmware.diag (`upile status`).

A config that validates but still stops the app from starting (a rule nobody wrote yet)
gets MAX_STARTS tries: until it has run healthy once, each boot counts a start in
/config/pile.try.json and started() clears it once the app is up; a config whose starts
keep failing is then rejected like an invalid one. Power-on resets do not count (a power
cut while starting says nothing about the config). During a trial boot a rejected config
still raises and nothing is counted: the new app disagrees with this pile's config, so it
fails its trial and the boot rolls back (lib/bootchoice.py) to the app that accepted it.
"""
import json
import sys

import fsatomic
import log

PATH = "/config/pile.json"  # firmware/config.py PATH
GOOD = "/config/pile.good.json"
TRY = "/config/pile.try.json"
MAX_STARTS = 3
PWRON = 1  # machine.reset_cause() of a power-on or brown-out (firmware/board/system.py)
_log = log.get("config")

status = {"ok": True, "using": "file", "error": None}  # what diag and `upile status` show
_text = None  # the validated file's JSON text: the next last-good copy
_try = None  # (path, crc) of the start being counted, until started() clears it


def _read(path, config):
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


def _parse(path, raw, config):
    try:
        stored = json.loads(raw)
    except ValueError:
        raise config.ConfigError("%s is not valid JSON" % path)
    return config.validate(stored)


def _crc(raw):
    from binascii import crc32

    return crc32(raw)


def _count_start(raw, try_path, cause):
    """None, or why this not-yet-healthy config is refused after MAX_STARTS failed starts."""
    global _try
    crc = _crc(raw)
    try:
        t = fsatomic.read_json(try_path, None)
    except fsatomic.Corrupt:
        t = None
    n = t.get("starts", 0) if isinstance(t, dict) and t.get("crc") == crc else 0
    if n >= MAX_STARTS:
        import thisboot

        try:
            last = (thisboot.read_state() or {}).get("last_failure")
        except (OSError, ValueError):  # a damaged boot state: the count alone decides
            last = None
        return "the app did not start with it in %d boots (last failure: %s)" % (n, last or "not recorded")
    if cause != PWRON:
        try:
            fsatomic.write_json(try_path, {"crc": crc, "starts": n + 1})
        except OSError as e:  # a full or failing flash: run uncounted rather than not at all
            _log.warn("cannot count the config's starts: %r", e)
    _try = try_path  # started() clears the count
    return None


def _reset_cause():
    try:
        from firmware.board import system
    except ImportError:  # no machine module (a bare Unix port): nothing reset us
        return PWRON
    return system.reset_cause()


def load(path=PATH, good=GOOD, trial=None, try_path=TRY, cause=None):
    """The config to run with (never raises outside a trial); see the module docstring.
    firmware.config (its SCHEMA is the biggest part) leaves the heap again afterwards unless
    someone else had loaded it: the running app needs the dict, not the validator."""
    loaded = "firmware.config" in sys.modules
    from firmware import config

    try:
        return _load(config, path, good, trial, try_path, cause)
    finally:
        if not loaded:
            config.forget(["firmware.config"])


def _load(config, path, good, trial, try_path, cause):
    global _text, _try
    from firmware import diag

    diag.register("config", lambda: dict(status))
    if trial is None:
        import thisboot

        trial = thisboot.trial
    _text = _try = None
    try:
        raw = _read(path, config)
        if raw is None:
            status.update(ok=True, using="defaults", error=None)
            return config.defaults()
        cfg = _parse(path, raw, config)
        reason = None
        if not trial and raw != _read_quiet(good, config):  # not proven healthy yet: count its starts
            reason = _count_start(raw, try_path, _reset_cause() if cause is None else cause)
        if reason is None:
            _text = raw
            status.update(ok=True, using="file", error=None)
            return cfg
        reason = "%s: %s" % (path, reason)
    except config.ConfigError as e:
        if trial:
            raise
        reason = e.args[0]
    try:
        raw = _read(good, config)
        cfg = _parse(good, raw, config) if raw is not None else None
    except config.ConfigError as e:
        _log.error("last good config unusable too: %s", e.args[0])
        cfg = None
    using = "last_good" if cfg is not None else "defaults"
    _log.error("CONFIG REJECTED %s: running with %s", reason, "the last good copy " + good if cfg else "defaults")
    log.flush()
    status.update(ok=False, using=using, error=reason)
    return cfg if cfg is not None else config.defaults()


def _read_quiet(path, config):
    try:
        return _read(path, config)
    except config.ConfigError:
        return None


def started():
    """The app got through its start-up (every domain built) with the file's config: this
    start does not count against it (app.py calls this once the tasks run)."""
    global _try
    if _try is not None:
        fsatomic.remove(_try)
        _try = None


def healthy(good=GOOD, try_path=TRY):
    """The app ran healthy with the validated file: keep it as the last good copy (only
    written when it changed, so a healthy boot costs no flash wear)."""
    if _text is None:
        if not status["ok"]:  # a reminder in the log: the pile runs, but not as provisioned
            _log.warn("the app runs healthy with the %s config; the rejected file stays unused: %s",
                      status["using"], status["error"])
        return False
    fsatomic.remove(try_path)
    try:
        old = fsatomic.read(good)
    except fsatomic.Corrupt:
        old = None
    if old == _text:
        return False
    fsatomic.write(good, _text)
    _log.info("config %d bytes kept as the last good copy %s", len(_text), good)
    return True
