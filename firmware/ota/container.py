"""The release container a back end pushes (docs/dny.md "The container"; `upile release
--container` writes it), little-endian:
    "UPR1" | kind u8 (1 app, 2 image) | 0 | envelope length u16 | index length u32 |
    payload length u32 | envelope (manifest.dsse.json) | index.txt (app) | bundle or image
header() reads the 16 bytes against the engine's limits; check() checks the envelope as the
service checks a fetched one (signature, product, counter, expiry, not rolled back before,
no trial running) and that the header's kind and sizes are the signed manifest's. Every
refusal is PushError(reason, detail); signature refusals go out as InvalidSignature events,
the others as DownloadFailed (push.py), each with via "push".
"""
import slotcheck
import thisboot

MAGIC = b"UPR1"
HEAD = 16
APP = 1
IMAGE = 2
SIG = ("bad_signature", "unknown_key", "bad_envelope", "no_signature")


class PushError(Exception):
    """A refused file: args (reason, detail)."""

    @property
    def reason(self):
        return self.args[0]


def _u16(b, o):
    return b[o] | b[o + 1] << 8


def _u32(b, o):
    return b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24


def header(h, lim):
    """(kind, envelope length, index length, payload length) of a container's first 16 bytes."""
    if h[0:4] != MAGIC:
        raise PushError("not_a_release", "no release container (a signed manifest must come first)")
    kind, env_len, idx_len, data_len = h[4], _u16(h, 6), _u32(h, 8), _u32(h, 12)
    if kind == APP:
        ok = 0 < idx_len <= lim["max_index"] and data_len <= lim["max_bundle"]
    else:
        ok = kind == IMAGE and idx_len == 0 and 0 < data_len <= lim["max_image"]
    if not (ok and 0 < env_len <= lim["max_envelope"]):
        raise PushError("bad_header", "kind %d, envelope %d, index %d, payload %d bytes" % (
            kind, env_len, idx_len, data_len))
    return kind, env_len, idx_len, data_len


def check(svc, env, kind, idx_len, data_len):
    """(payload, envelope sha256 hex) of an envelope this pile may install now."""
    env_hex = slotcheck.env_sha(env)
    st = thisboot.read_state()
    if st is None:
        raise PushError("no_state", "device not provisioned")
    if st.get("pending") or thisboot.trial or st.get("image"):
        raise PushError("trial_running", "a new release is on trial")
    if ((st.get("slots") or {}).get(thisboot.selected or st["active"]) or {}).get("env") == env_hex:
        raise PushError("up_to_date", "this release runs already")
    try:
        p = svc._verify(env, st)
    except ValueError as e:  # ManifestError(reason, detail)
        r = e.args[0] if e.args else "bad_manifest"
        svc.emit("InvalidSignature" if r in SIG else "DownloadFailed", r, None,
                 detail=e.args[1] if len(e.args) > 1 else "", via="push")
        raise PushError(r, e.args[1] if len(e.args) > 1 else "")
    if p["counter"] in st.get("rolled_back", ()):
        raise PushError("rolled_back_before", "counter %d was rolled back on this pile" % p["counter"])
    if (p.get("kind") == "app") != (kind == APP):
        raise PushError("bad_header", "the container's kind is not the manifest's")
    if kind == APP:
        same = p["index"]["size"] == idx_len and p["bundle"]["size"] == data_len
    else:
        same = p["image"]["size"] == data_len
    if not same:
        raise PushError("bad_header", "the container's sizes are not the manifest's")
    return p, env_hex
