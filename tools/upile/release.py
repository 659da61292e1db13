"""Signed releases on the host: keys, packing, signing (cryptography) and verification.

A release directory holds manifest.dsse.json plus, for kind "app", bundle.bin (the app files
concatenated in sorted path order) and index.txt (one line "sha256 size offset path" per
file, signed through its size and sha256 in the payload), or image.bin (kind "image").
Verification runs the device's own firmware/ota/manifest.py and index.py, then checks the
data files against them.
Formats and policies: docs/releases.md.
"""
import base64
import datetime
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

from upile import paths
from upile.errors import UserError

MANIFEST = "manifest.dsse.json"
BUNDLE = "bundle.bin"
INDEX = "index.txt"
IMAGE = "image.bin"
CONTAINER = "release.upr"  # the release as one file, for back ends that push it (DNY in-band)
CONTAINER_MAGIC = b"UPR1"
PRIV_NAME = "release.key"
PUB_NAME = "release.pub"
DEFAULT_DAYS = 365


def _device_modules():
    """Import the device's dsse and manifest modules (they also run on CPython).

    lib/ goes to the END of sys.path: it holds device modules (e.g. http.py) whose names
    must not shadow the standard library's."""
    for p in (str(paths.ROOT / "lib"), str(paths.ROOT)):
        if p not in sys.path:
            sys.path.append(p)
    import dsse
    from firmware.ota import manifest

    return dsse, manifest


def _index_module():
    _device_modules()
    from firmware.ota import index

    return index


def index_text(entries):
    """index.txt bytes for [(path, size, sha256 hex)] laid out back to back in that order
    (the order must be sorted by path: the device requires it)."""
    idx = _index_module()
    out, off = [], 0
    for path, size, sha in entries:
        out.append(idx.line(sha, size, off, path))
        off += size
    return "".join(out).encode()


def read_index(rel_dir):
    """[{path, size, sha256, offset}] of a release directory's index.txt (host convenience)."""
    try:
        text = (Path(rel_dir) / INDEX).read_text()
    except OSError as e:
        raise UserError("cannot read %s: %s" % (Path(rel_dir) / INDEX, e.strerror or e))
    out = []
    for line in text.splitlines():
        sha, size, off, path = line.split(" ", 3)
        out.append({"path": path, "size": int(size), "sha256": sha, "offset": int(off)})
    return out


def _crypto():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return serialization, ed25519


def raw_public(pub):
    serialization, _ = _crypto()
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def keyid(pub32):
    return hashlib.sha256(pub32).hexdigest()[:16]


def keygen(out_dir):
    """Write release.key (PKCS#8 PEM, mode 0600), release.pub (PEM) and keys.json; returns keyid."""
    serialization, ed25519 = _crypto()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    priv_path, pub_path, ring_path = out / PRIV_NAME, out / PUB_NAME, out / "keys.json"
    for p in (priv_path, pub_path, ring_path):
        if p.exists():
            raise UserError("%s already exists: refusing to overwrite a key" % p)
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(str(priv_path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(priv_path, 0o600)
    pub = key.public_key()
    pub_path.write_bytes(pub.public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    raw = raw_public(pub)
    kid = keyid(raw)
    ring_path.write_text(json.dumps({"keys": {kid: raw.hex()}, "threshold": 1}, indent=1) + "\n")
    return kid


def load_private(path):
    serialization, ed25519 = _crypto()
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise UserError("cannot read private key %s: %s" % (path, e.strerror or e))
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise UserError("%s is not an unencrypted PEM private key (%s)" % (path, e))
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise UserError("%s is a %s key, not Ed25519" % (path, type(key).__name__.replace("_", "")))
    return key


def load_public(spec):
    """A public key from a PEM file, a raw 32-byte file, or 64 hex chars; returns 32 bytes."""
    serialization, ed25519 = _crypto()
    text = str(spec).strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return bytes.fromhex(text)
    try:
        data = Path(spec).read_bytes()
    except OSError as e:
        raise UserError("cannot read public key %s: %s" % (spec, e.strerror or e))
    if len(data) == 32:
        return data
    if re.fullmatch(rb"\s*[0-9a-fA-F]{64}\s*", data):
        return bytes.fromhex(data.decode().strip())
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as e:
        if b"PRIVATE KEY" in data:
            raise UserError("%s is a private key: give the public key (release.pub)" % spec)
        raise UserError("%s is not a PEM public key (%s)" % (spec, e))
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise UserError("%s is a %s key, not Ed25519" % (spec, type(key).__name__.replace("_", "")))
    return raw_public(key)


def parse_expires(text, now=None):
    """'+90d' / '90d' (days from now), '2027-01-31' (UTC), or Unix seconds."""
    now = int(time.time()) if now is None else now
    if text is None:
        return now + DEFAULT_DAYS * 86400
    t = str(text).strip()
    m = re.fullmatch(r"\+?(\d+)d", t)
    if m:
        return now + int(m.group(1)) * 86400
    if re.fullmatch(r"\d{9,}", t):
        return int(t)
    try:
        d = datetime.datetime.fromisoformat(t)
    except ValueError:
        raise UserError("--expires %r: use +90d, 2027-01-31 or Unix seconds" % text)
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp())


def _app_files(app_dir):
    _, manifest = _device_modules()
    app = Path(app_dir)
    if not app.is_dir():
        raise UserError("app folder %s not found (run `upile build` first?)" % app)
    rels = []
    for root in manifest.LIMITS["roots"]:
        base = app / root.rstrip("/")
        if base.is_dir():
            rels += [p.relative_to(app).as_posix() for p in base.rglob("*") if p.is_file()]
    rels.sort()
    if not rels:
        raise UserError("no files under %s in %s" % (" or ".join(manifest.LIMITS["roots"]), app))
    for r in rels:
        try:
            manifest.check_path(r, manifest.LIMITS)
        except manifest.ManifestError as e:
            raise UserError("cannot ship %s: %s" % (r, e.detail))
    return rels


def _copy_hashing(src, dst_f, h_total):
    h = hashlib.sha256()
    n = 0
    try:
        with open(src, "rb") as f:
            while True:
                b = f.read(65536)
                if not b:
                    break
                h.update(b)
                h_total.update(b)
                dst_f.write(b)
                n += len(b)
    except OSError as e:
        raise UserError("cannot read %s: %s" % (src, e.strerror or e))
    return n, h.hexdigest()


def sign_payload(payload, key):
    """DSSE envelope bytes for a payload dict, signed with an Ed25519 private key."""
    dsse, manifest = _device_modules()
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    sig = key.sign(dsse.pae(manifest.PAYLOAD_TYPE, body))
    env = {
        "payloadType": manifest.PAYLOAD_TYPE,
        "payload": base64.b64encode(body).decode(),
        "signatures": [{"keyid": keyid(raw_public(key.public_key())), "sig": base64.b64encode(sig).decode()}],
    }
    return (json.dumps(env, indent=1) + "\n").encode()


def make_release(source, kind, version, counter, key_path, product, expires, out_dir, created=None):
    """Build a release directory; returns the signed payload dict.

    source: the built app tree (kind "app", e.g. build/x64) or an image file (kind "image").
    expires: Unix seconds, or text accepted by parse_expires (None = a year from now).
    """
    key = load_private(key_path)
    if kind not in ("app", "image"):
        raise UserError("--kind must be app or image, not %r" % kind)
    if type(counter) is not int or not 0 <= counter < 2**31:
        raise UserError("--counter must be an integer 0..2^31-1")
    created = int(time.time()) if created is None else int(created)
    expires = expires if isinstance(expires, int) else parse_expires(expires, created)
    if expires <= created:
        raise UserError("the release would already be expired (expires %d <= created %d)" % (expires, created))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"product": product, "version": version, "counter": counter,
               "created": created, "expires": expires, "kind": kind}
    if kind == "app":
        src = Path(source)
        rels = _app_files(src)
        entries, off, total = [], 0, hashlib.sha256()
        with open(out / BUNDLE, "wb") as f:
            for r in rels:
                n, hexd = _copy_hashing(src / r, f, total)
                entries.append((r, n, hexd))
                off += n
        text = index_text(entries)
        (out / INDEX).write_bytes(text)
        payload["index"] = {"size": len(text), "sha256": hashlib.sha256(text).hexdigest()}
        payload["bundle"] = {"size": off, "sha256": total.hexdigest()}
    else:
        total = hashlib.sha256()
        if not Path(source).is_file():
            raise UserError("image %s not found" % source)
        with open(out / IMAGE, "wb") as f:
            n, hexd = _copy_hashing(source, f, total)
        if n == 0:
            raise UserError("image %s is empty" % source)
        payload["image"] = {"size": n, "sha256": hexd}
    env = sign_payload(payload, key)
    (out / MANIFEST).write_bytes(env)
    # Fail here, not on the device: the host runs the device's own check.
    verify_release(out, [raw_public(key.public_key())], product=product, now=created)
    return payload


def write_container(rel_dir, out_file=None):
    """The release in rel_dir as one file (docs/dny.md "Container"): "UPR1", kind (1 app,
    2 image), 0, envelope length u16, index length u32, payload length u32 (little-endian),
    then the envelope, index.txt (app) and bundle.bin or image.bin. The manifest comes
    first, so a pile checks its signature before it writes a byte of the payload.
    Returns the path written (default rel_dir/release.upr)."""
    import struct

    d = Path(rel_dir)
    env = (d / MANIFEST).read_bytes()
    p = json.loads(base64.b64decode(json.loads(env)["payload"]))
    app = p["kind"] == "app"
    idx = (d / INDEX).read_bytes() if app else b""
    data = d / (BUNDLE if app else IMAGE)
    size = data.stat().st_size
    if len(env) > 0xFFFF:
        raise UserError("%s: the envelope is too big for a container" % (d / MANIFEST))
    out = Path(out_file) if out_file else d / CONTAINER
    with open(out, "wb") as f:
        f.write(CONTAINER_MAGIC + struct.pack("<BBHII", 1 if app else 2, 0, len(env), len(idx), size))
        f.write(env)
        f.write(idx)
        with open(data, "rb") as src:
            while True:
                b = src.read(65536)
                if not b:
                    break
                f.write(b)
    return out


def _hash_range(path, off, size):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(off)
        left = size
        while left:
            b = f.read(min(65536, left))
            if not b:
                break
            h.update(b)
            left -= len(b)
    return h.hexdigest(), size - left


def verify_release(rel_dir, pubkeys, product=None, installed_counter=-1, now=None, threshold=1):
    """Check a release directory as the device would; returns the payload or raises UserError."""
    _, manifest = _device_modules()
    d = Path(rel_dir)
    try:
        env = (d / MANIFEST).read_bytes()
    except OSError as e:
        raise UserError("cannot read %s: %s" % (d / MANIFEST, e.strerror or e))
    ring = {keyid(bytes(p)): bytes(p) for p in pubkeys}
    if product is None:  # take it from the (still unverified) payload: the signature decides
        try:
            import dsse

            product = json.loads(dsse.parse(env)[1]).get("product")
        except (ValueError, AttributeError, dsse.DsseError):
            product = ""
    now = int(time.time()) if now is None else now
    try:
        p = manifest.check(env, ring, product=product, installed_counter=installed_counter, now=now,
                           limits={"threshold": threshold})
    except manifest.ManifestError as e:
        raise UserError("%s: %s (%s)" % (d / MANIFEST, e.reason, e.detail))
    if p["kind"] == "app":
        data, spec = d / BUNDLE, p["bundle"]
    else:
        data, spec = d / IMAGE, p["image"]
    if not data.is_file():
        raise UserError("%s missing" % data)
    if data.stat().st_size != spec["size"]:
        raise UserError("%s is %d bytes, manifest says %d" % (data, data.stat().st_size, spec["size"]))
    if _hash_range(data, 0, spec["size"])[0] != spec["sha256"]:
        raise UserError("%s: sha256 differs from the manifest" % data)
    if p["kind"] == "app":
        idx = _index_module()
        try:
            with open(d / INDEX, "rb") as f:
                idx.check_index(f, p)
        except OSError as e:
            raise UserError("cannot read %s: %s" % (d / INDEX, e.strerror or e))
        except idx.ManifestError as e:
            raise UserError("%s: %s (%s)" % (d / INDEX, e.reason, e.detail))
        for f in read_index(d):
            if _hash_range(data, f["offset"], f["size"])[0] != f["sha256"]:
                raise UserError("%s: sha256 of %s differs from the index" % (data, f["path"]))
    return p
