"""Signed release manifests: the device-side check of everything a release claims.

check() takes the raw DSSE envelope and returns the verified payload dict, or raises
ManifestError(reason, detail). It is two steps, which the OTA service runs with only one of
them in the heap: firmware.ota.signed_payload (dsse and the crypto) and check_payload (this
module). The payload (docs/releases.md) is JSON with product, version,
counter, created, expires (integer Unix seconds), kind "app" (bundle + the signed size and
hash of its file index, checked line by line by index.check_index) or "image".
Every rejection has its own reason code; none uses assert (mpy-cross -O strips them).
Clock policy: with no valid clock (`now` None or before 2024) expiry cannot be checked; by
default the release is accepted and "clock_unset" is listed in the result's "_warnings",
because a pile without network time must still update over the LAN; limits
{"unset_clock": "reject"} turns that into ManifestError("clock_unset").
"""
import json

from firmware.ota import PAYLOAD_TYPE, signed_payload  # noqa: F401 (re-exported)
from firmware.ota.fields import ManifestError, check_path, is_sha  # noqa: F401 (re-exported)
CLOCK_VALID_FROM = 1704067200  # 2024-01-01T00:00:00Z: any earlier "now" is an unset RTC
_ESP32_EPOCH = 946684800  # 2000-01-01 in Unix seconds

LIMITS = {
    "max_envelope": 4096,  # bytes of manifest.dsse.json, checked before parsing (~700 with one key)
    "max_files": 400,  # lines of index.txt
    "max_index": 65536,  # bytes of index.txt (a line is at most ~180 bytes)
    "max_file_size": 512 * 1024,
    "max_bundle": 1536 * 1024,  # an app slot on a 4 MiB board's ~960 KiB littlefs, with headroom
    "max_image": 0x180000,  # one OTA app partition (1.5 MiB)
    "max_path": 96,
    "roots": ("firmware/", "lib/"),  # an app slot holds only these trees
    "unset_clock": "accept",  # or "reject"
    "threshold": 1,  # distinct trusted keys that must have signed
}


def merged(limits):
    """LIMITS with the given overrides (None: the defaults)."""
    lim = dict(LIMITS)
    if limits:
        lim.update(limits)
    return lim


def unix_now():
    """Current time in Unix seconds on either epoch (the ESP32 RTC counts from 2000)."""
    import time

    t = time.time()
    if time.gmtime(0)[0] == 2000:
        t += _ESP32_EPOCH
    return int(t)


def _int(d, key, lo=0, hi=None, where=""):
    v = d.get(key)
    if type(v) is not int:
        raise ManifestError("bad_field", "%s%s: expected an integer, got %r" % (where, key, v))
    if v < lo or (hi is not None and v > hi):
        big = key == "size" and hi is not None and v > hi
        raise ManifestError("too_large" if big else "bad_field",
                            "%s%s: %d not in %d..%s" % (where, key, v, lo, hi))
    return v


def _str(d, key, hi, where=""):
    v = d.get(key)
    if not isinstance(v, str) or not v or len(v) > hi:
        raise ManifestError("bad_field", "%s%s: expected text of 1..%d chars" % (where, key, hi))
    return v


def _sha(d, where):
    v = d.get("sha256")
    if not is_sha(v):
        raise ManifestError("bad_sha256", where + "sha256: expected 64 lowercase hex chars")
    return v


def _obj(d, key):
    v = d.get(key)
    if not isinstance(v, dict):
        raise ManifestError("bad_field", "%s: expected an object" % key)
    return v


def _app(p, lim):
    bundle = _obj(p, "bundle")
    _int(bundle, "size", 0, lim["max_bundle"], "bundle.")
    _sha(bundle, "bundle.")
    idx = _obj(p, "index")  # the file list itself is index.txt, checked by index.check_index
    _int(idx, "size", 1, lim["max_index"], "index.")
    _sha(idx, "index.")


def check(envelope_bytes, keyring, *, product, installed_counter, now, limits=None):
    """Verify a release envelope; returns the payload dict (plus "_warnings") or raises."""
    import dsse

    lim = merged(limits)
    try:
        payload = signed_payload(envelope_bytes, keyring, lim)
    except dsse.DsseError as e:
        raise ManifestError(e.reason, e.detail)
    return check_payload(payload, product=product, installed_counter=installed_counter, now=now, lim=lim)


def check_payload(payload, *, product, installed_counter, now, lim):
    """The fields of a verified payload (bytes) against this device and `lim` (merged())."""
    try:
        p = json.loads(payload)
    except (ValueError, UnicodeError):
        raise ManifestError("bad_field", "payload is not JSON")
    if not isinstance(p, dict):
        raise ManifestError("bad_field", "payload is not a JSON object")
    if _str(p, "product", 64) != product:
        raise ManifestError("wrong_product", "release for %r, this is %r" % (p["product"], product))
    _str(p, "version", 32)
    counter = _int(p, "counter", 0, 2**31 - 1)
    created = _int(p, "created", 0, 2**32)
    expires = _int(p, "expires", 0, 2**32)
    if expires <= created:
        raise ManifestError("bad_field", "expires %d is not after created %d" % (expires, created))
    kind = p.get("kind")
    if kind == "app":
        _app(p, lim)
    elif kind == "image":
        img = _obj(p, "image")
        _int(img, "size", 1, lim["max_image"], "image.")
        _sha(img, "image.")
    else:
        raise ManifestError("bad_kind", "kind %r is neither app nor image" % (kind,))
    if counter <= installed_counter:
        raise ManifestError("downgrade", "counter %d is not above installed %d" % (counter, installed_counter))
    warnings = []
    if now is None or now < CLOCK_VALID_FROM:
        if lim["unset_clock"] != "accept":
            raise ManifestError("clock_unset", "device clock is not set, expiry cannot be checked")
        warnings.append("clock_unset")
    elif now >= expires:
        raise ManifestError("expired", "expired at %d, now %d" % (expires, now))
    p["_warnings"] = warnings
    p["_limits"] = lim  # index.check_index checks the app's file list with the same limits
    return p
