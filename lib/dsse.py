"""DSSE envelopes (github.com/secure-systems-lab/dsse): parse, PAE, verify with a keyring.

An envelope is JSON {"payloadType": str, "payload": base64, "signatures": [{"keyid": str,
"sig": base64}]}. The Ed25519 signature covers PAE(payloadType, payload bytes), so the signed
bytes are exact and no JSON canonicalisation is needed. Keyring: {keyid: 32-byte public key},
several keys so they can rotate; `threshold` distinct trusted keys must have signed.
keyid = first 16 hex chars of sha256(public key) (see keyid()).
Failures raise DsseError(reason, detail): "too_large" (checked before any parsing),
"bad_envelope" (not the shape above), "bad_signature" (fewer than threshold valid).
"""
import binascii
import hashlib
import json

import ed25519

MAX_ENVELOPE = 20480  # bytes; a manifest of ~100 files (~140 bytes each, base64) fits
_MAX_SIGS = 8  # bounds the work a hostile envelope can cause


class DsseError(ValueError):
    def __init__(self, reason, detail=""):
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


def keyid(public_key):
    """Key id of a 32-byte Ed25519 public key: 16 hex chars of its SHA-256."""
    return binascii.hexlify(hashlib.sha256(bytes(public_key)).digest()).decode()[:16]


def pae_header(payload_type, payload_len):
    """PAE without the payload: PAE = pae_header(type, len(payload)) + payload."""
    t = payload_type.encode() if isinstance(payload_type, str) else bytes(payload_type)
    return b"DSSEv1 %d %s %d " % (len(t), t, payload_len)


def pae(payload_type, payload):
    """Pre-Authentication Encoding: the bytes the signatures cover."""
    return pae_header(payload_type, len(payload)) + bytes(payload)


def _b64(s, what):
    """Strict base64 of a str or a bytes-like slice (decoded without copying the text)."""
    if not isinstance(s, (str, memoryview)) or len(s) % 4:
        raise DsseError("bad_envelope", what + " is not base64")
    try:
        raw = binascii.a2b_base64(s)
    except ValueError:
        raise DsseError("bad_envelope", what + " is not base64")
    # a2b_base64 skips stray characters: a canonical encoding has exactly the length of its
    # bytes' encoding and the same last quantum
    n = len(raw)
    k = n % 3 or 3
    tail = s[-4:]
    tail = tail.encode() if isinstance(tail, str) else bytes(tail)
    if len(s) != 4 * ((n + 2) // 3) or (n and binascii.b2a_base64(raw[n - k:])[:4] != tail):
        raise DsseError("bad_envelope", what + " is not canonical base64")
    return raw


_KEY = b'"payload"'


def _payload_span(data):
    """(start, end) of the payload's base64 text inside the envelope bytes.

    JSON-decoding the envelope would copy the payload text into one string as big as the
    envelope; on a fragmented device heap that block may not exist. So the payload is found
    here, cut out before json.loads, and decoded straight from the envelope's buffer. The
    key must occur exactly once and its value must be a plain string (no escapes)."""
    i = data.find(_KEY)
    if i < 0 or data.find(_KEY, i + 1) >= 0:
        raise DsseError("bad_envelope", "payload missing or named twice")
    j = i + len(_KEY)
    n = len(data)
    while j < n and data[j] in b" \t\r\n":
        j += 1
    if j >= n or data[j] != 0x3A:  # ':'
        raise DsseError("bad_envelope", "payload is not a key")
    j += 1
    while j < n and data[j] in b" \t\r\n":
        j += 1
    if j >= n or data[j] != 0x22:  # '"'
        raise DsseError("bad_envelope", "payload is not a string")
    end = data.find(b'"', j + 1)
    if end < 0:
        raise DsseError("bad_envelope", "payload string not closed")
    return j + 1, end


def parse(data, max_size=MAX_ENVELOPE):
    """Envelope bytes -> (payload_type, payload bytes, [(keyid, sig bytes)])."""
    try:
        n = len(data)
    except TypeError:
        raise DsseError("bad_envelope", "not bytes")
    if n > max_size:
        raise DsseError("too_large", "envelope is %d bytes, limit %d" % (n, max_size))
    if isinstance(data, str):
        data = data.encode()
    elif not isinstance(data, bytes):
        try:
            data = bytes(data)
        except TypeError:
            raise DsseError("bad_envelope", "not bytes")
    start, end = _payload_span(data)
    try:
        env = json.loads(data[:start] + data[end:])  # the envelope with "payload": ""
    except (ValueError, TypeError, UnicodeError):
        raise DsseError("bad_envelope", "not JSON")
    if not isinstance(env, dict) or env.get("payload") != "":
        raise DsseError("bad_envelope", "not a DSSE envelope object")
    ptype = env.get("payloadType")
    if not isinstance(ptype, str) or not ptype:
        raise DsseError("bad_envelope", "payloadType missing")
    sigs = env.get("signatures")
    if not isinstance(sigs, list) or not sigs:
        raise DsseError("bad_envelope", "signatures missing")
    if len(sigs) > _MAX_SIGS:
        raise DsseError("bad_envelope", "more than %d signatures" % _MAX_SIGS)
    out = []
    for s in sigs:
        if not isinstance(s, dict):
            raise DsseError("bad_envelope", "signature is not an object")
        kid = s.get("keyid")
        if not isinstance(kid, str):
            raise DsseError("bad_envelope", "signature without keyid")
        out.append((kid, _b64(s.get("sig"), "sig")))
    env = None
    payload = _b64(memoryview(data)[start:end], "payload")
    return ptype, payload, out


def verify(data, keyring, threshold=1, payload_type=None, max_size=MAX_ENVELOPE):
    """Parse and verify; returns (payload_type, payload bytes, [keyids that signed])."""
    ptype, payload, sigs = parse(data, max_size)
    if payload_type is not None and ptype != payload_type:
        raise DsseError("bad_envelope", "payloadType %r, expected %r" % (ptype, payload_type))
    if not isinstance(threshold, int) or threshold < 1:
        raise DsseError("bad_signature", "threshold must be at least 1")
    msg = None
    good = []
    for kid, sig in sigs:
        pub = keyring.get(kid)
        if pub is None or kid in good:
            continue
        if msg is None:  # PAE in two pieces: the payload is never copied
            msg = (pae_header(ptype, len(payload)), payload)
        if ed25519.verify(pub, msg, sig):
            good.append(kid)
            if len(good) >= threshold:
                return ptype, payload, good
    if not good and not any(kid in keyring for kid, _ in sigs):
        raise DsseError("bad_signature", "no signature by a trusted key")
    raise DsseError("bad_signature", "%d valid signature(s), %d needed" % (len(good), threshold))
