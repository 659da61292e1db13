"""Trusted release keys: /config/keys.json = {"keys": {keyid: hex pubkey}, "threshold": 1}.

keyid is the first 16 hex chars of sha256(pubkey) (dsse.keyid); a file whose ids do not
match their keys is refused, so a typo cannot silently trust the wrong key.
"""
import binascii
import hashlib
import json

PATH = "/config/keys.json"


class KeysError(ValueError):
    pass


def _keyid(pub):
    """dsse.keyid without importing dsse (and ed25519 with it): loading keys needs no crypto."""
    return binascii.hexlify(hashlib.sha256(pub).digest()).decode()[:16]


def parse(obj):
    """Decoded keys.json -> (keyring {keyid: 32-byte key}, threshold)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("keys"), dict) or not obj["keys"]:
        raise KeysError("keys: expected a non-empty object of keyid -> hex public key")
    ring = {}
    for kid, hexkey in obj["keys"].items():
        try:
            pub = binascii.unhexlify(hexkey)
        except (ValueError, TypeError):
            raise KeysError("key %r is not hex" % kid)
        if len(pub) != 32:
            raise KeysError("key %r is not 32 bytes" % kid)
        want = _keyid(pub)
        if want != kid:
            raise KeysError("keyid %r does not match its key (%s)" % (kid, want))
        ring[kid] = pub
    th = obj.get("threshold", 1)
    if type(th) is not int or th < 1 or th > len(ring):
        raise KeysError("threshold must be 1..%d" % len(ring))
    return ring, th


def load(path=PATH):
    try:
        with open(path) as f:
            obj = json.loads(f.read())
    except OSError:
        raise KeysError("%s missing: no trusted release keys" % path)
    except ValueError:
        raise KeysError("%s is not JSON" % path)
    return parse(obj)
