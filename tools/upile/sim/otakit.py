"""Host-side OTA kit for the sim board: app trees per version, signed releases, and a
factory-fresh pile whose slot a is already pinned (the OTA demo, tests and bench share it).

A release channel is a folder served over HTTP whose `stable` entry is a symlink to one
release directory; `publish()` swaps it atomically, as a CDN would switch a channel.
"""
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

from upile import paths, release
from upile.cmd_build import build
from upile.factory import BOOT_LIBS, framed

PRODUCT = "upile-ebike-10"


def dev_key(d):
    """(private key path, keys.json dict) of a dev key kept under `d` (made once)."""
    d = Path(d)
    if not (d / release.PRIV_NAME).exists():
        release.keygen(d)
    return d / release.PRIV_NAME, json.loads((d / "keys.json").read_text())


def _mpy(src_text, rel, out):
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".src.py")
    tmp.write_text(src_text)
    try:
        p = subprocess.run([paths.tool("mpy-cross"), "-march=x64", "-O1", "-s", rel, "-o", str(out), str(tmp)],
                           capture_output=True, text=True)
    finally:
        tmp.unlink()
    if p.returncode:
        raise RuntimeError("mpy-cross failed for %s: %s" % (rel, p.stderr))


def app_tree(out_dir, version, overrides=None, extra=None):
    """The compiled app (build/x64) with VERSION = version; `overrides`/`extra` map
    'firmware/x.py' -> source text compiled in place of / beside the real module."""
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    src = Path(build("x64"))
    for rel in paths.app_sources():
        mpy = rel[:-3] + ".mpy"
        (out / mpy).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / mpy, out / mpy)
    changes = {"firmware/version.py": 'VERSION = "%s"\n' % version}
    changes.update(overrides or {})
    changes.update(extra or {})
    for rel, text in changes.items():
        _mpy(text, rel, out / (rel[:-3] + ".mpy"))
    return out


def make(rel_dir, tree, version, counter, key, product=PRODUCT, expires="+30d", kind="app", created=None):
    """A signed release directory; returns its payload."""
    rel_dir = Path(rel_dir)
    if rel_dir.exists():
        shutil.rmtree(rel_dir)
    return release.make_release(str(tree), kind, version, counter, str(key), product,
                                release.parse_expires(expires, created), str(rel_dir), created=created)


def index_text(rel_dir):
    """files.idx of a slot holding the release in rel_dir (its index.txt as is) and its pin."""
    import hashlib

    text = (Path(rel_dir) / release.INDEX).read_bytes()
    return text, hashlib.sha256(text).hexdigest()


def sim_config(url, ota=None, extra=None):
    """A device config for the sim: Wi-Fi 'sim-ap', OTA at `url` (plain http on loopback)."""
    o = {"url": url, "allow_http": True, "check_s": 5, "jitter_s": 1, "first_check_s": 1,
         "health_s": 3, "trial_wdt_s": 5, "retries": 3, "backoff_s": 1, "backoff_max_s": 4,
         "timeout_s": 5, "idle_poll_s": 1}
    o.update(ota or {})
    cfg = {"pile": {"product": PRODUCT}, "ota": o, "wifi": {"networks": [{"ssid": "sim-ap", "key": "simkey123"}]}}
    for k, v in (extra or {}).items():
        cfg.setdefault(k, {}).update(v)
    return cfg


def factory_files(tree, rel_dir, payload, keys, config):
    """{device path: bytes} of a pile running `tree` (the release in rel_dir) in slot a."""
    tree, rel_dir = Path(tree), Path(rel_dir)
    out = {"/boot.py": (paths.ROOT / "boot.py").read_bytes(), "/main.py": (paths.ROOT / "main.py").read_bytes()}
    for name in BOOT_LIBS:
        p = tree / "lib" / (name + ".mpy")
        if p.exists():
            out["/lib/%s.mpy" % name] = p.read_bytes()
    for e in release.read_index(rel_dir):
        out["/slots/a/" + e["path"]] = (tree / e["path"]).read_bytes()
    env = (rel_dir / release.MANIFEST).read_bytes()
    out["/slots/a/" + release.MANIFEST] = env
    idx, pin = index_text(rel_dir)
    out["/slots/a/files.idx"] = idx
    import hashlib

    state = {"active": "a", "pending": None, "trials": 0, "counter": payload["counter"], "rolled_back": [],
             "slots": {"a": {"pin": pin, "counter": payload["counter"], "version": payload["version"],
                             "env": hashlib.sha256(env).hexdigest()}}}
    out["/ota/state.json"] = framed(json.dumps(state))
    out["/config/keys.json"] = json.dumps(keys).encode()
    out["/config/pile.json"] = framed(json.dumps(config))
    return out


class Channel:
    """Serves `root` over HTTP (upile.serve or a subclass handler); `stable` -> a release."""

    def __init__(self, root, handler=None):
        from upile import serve

        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        kw = {"handler": handler} if handler else {}
        self.server = serve.make_server(self.root, 0, **kw)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name="stable"):
        return "http://127.0.0.1:%d/%s" % (self.port, name)

    def publish(self, rel_dir, name="stable"):
        link = self.root / name
        tmp = self.root / (name + ".new")
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(os.path.relpath(Path(rel_dir).resolve(), self.root.resolve()), tmp)
        os.replace(tmp, link)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def wired_link(board):
    """Keep the sim chip's IP link up from every boot on, like a board on Ethernet.

    OTA tests exercise the update engine, not link management: until the app's own link
    manager has brought Wi-Fi up, a chip without this sees no network at all."""
    def tick(now):
        net = board.net
        if board.chip is not None and net.wlan["status"] != 1010:
            net.wlan.update(status=1010, ip="10.0.0.2", ssid="sim-ap", gw="10.0.0.1")
            net.push()

    board.loop.call(lambda: board.loop.add_ticker(tick))
