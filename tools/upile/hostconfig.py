"""Device config on the host: the firmware's own validator (firmware/config.py), secrets masked.

firmware/config.py and the rules modules of every domain it names (firmware/*/rules.py,
tariff.py, ota/policy.py, ...) are imported from this source tree as the package `firmware`
(CPython runs them unchanged; they never import machine or micropython), so the host and the
device validate with one SCHEMA and one validate(): a config the firmware would reject is
rejected here, with the same message, before anything is written.
"""
import importlib
import importlib.util
import json
import sys

from upile import paths
from upile.errors import UserError

# key names whose values are never printed (Wi-Fi keys, backend passwords, APN credentials...)
SECRET_WORDS = ("key", "pass", "psk", "secret", "token", "pin", "auth", "cred")
MASK = "***"


def firmware_config():
    """The module firmware.config of this source tree (the package imported from its folder,
    not from sys.path: the repo root also holds boot.py and main.py, which must not import)."""
    if "firmware" not in sys.modules:
        pkg_dir = paths.ROOT / "firmware"
        spec = importlib.util.spec_from_file_location("firmware", pkg_dir / "__init__.py",
                                                      submodule_search_locations=[str(pkg_dir)])
        pkg = importlib.util.module_from_spec(spec)
        sys.modules["firmware"] = pkg
        spec.loader.exec_module(pkg)
    return importlib.import_module("firmware.config")


def is_secret(name):
    n = name.lower()
    return any(w in n for w in SECRET_WORDS)


def _secrets(obj, name="", out=None):
    """Every string value under a secret-looking key (at any depth)."""
    out = [] if out is None else out
    if isinstance(obj, dict):
        for k, v in obj.items():
            if is_secret(str(k)) and isinstance(v, str) and v:
                out.append(v)
            _secrets(v, str(k), out)
    elif isinstance(obj, list):
        for v in obj:
            if is_secret(name) and isinstance(v, str) and v:
                out.append(v)
            _secrets(v, name, out)
    return out


def scrub(text, cfg):
    for s in sorted(_secrets(cfg), key=len, reverse=True):
        text = text.replace(repr(s), MASK).replace(s, MASK)
    return text


def masked(obj, name=""):
    """A copy of `obj` fit for printing: secret values replaced by ***."""
    if isinstance(obj, dict):
        return {k: (MASK if is_secret(str(k)) and isinstance(v, str) and v else masked(v, str(k)))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [masked(v, name) for v in obj]
    return obj


def validate(cfg):
    """Complete config (defaults filled in) or UserError; the message never shows a secret."""
    fc = firmware_config()
    try:
        return fc.validate(cfg)
    except fc.ConfigError as e:
        raise UserError("config rejected, nothing written: %s" % scrub(str(e.args[0]), cfg))


def read_config(path):
    """The config as written in `path` (validated; defaults stay the firmware's to fill in, so a
    later firmware's defaults still apply to keys the file does not set)."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        raise UserError("cannot read config %s: %s" % (path, e.strerror or e))
    try:
        cfg = json.loads(text)
    except ValueError as e:
        # the JSON error names a position, never the content around it
        raise UserError("config %s is not valid JSON (line %d, column %d), nothing written"
                        % (path, e.lineno, e.colno))
    validate(cfg)
    return cfg
