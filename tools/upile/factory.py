"""The files of a factory-fresh pile, as {device path: bytes}.

One description serves `upile fsimage` (a littlefs image for the line), the sim board
(SimBoard.install_files) and tests, so what the factory writes is what the sim boots:

  /boot.py, /main.py          entry points (source: MicroPython runs them by name)
  /lib/<boot-critical>.mpy    copies outside the slots, so a bad app never breaks rollback
  /slots/a/...                the compiled app (`upile build`) and its signed manifest
  /config/keys.json           trusted release keys;  /config/pile.json  the device config
  /ota/state.json             initial OTA state: slot a active, nothing pending
"""
import importlib.util
import json
from pathlib import Path

from upile import paths
from upile.errors import UserError

# lib/ modules the boot path needs before any slot is trusted (common.md, device layout).
# ed25519 imports ed25519_table (the table of B) and sha512 imports sha512_viper (native
# compression; sha512 falls back to plain ints without it).
BOOT_LIBS = ("fsatomic", "journal", "log", "sha512", "sha512_viper", "ed25519", "ed25519_table", "dsse", "thisboot",
             "bootstate", "bootchoice", "slotcheck")
SLOT = "a"
MANIFEST_NAME = "manifest.dsse.json"
INDEX_NAME = "files.idx"


def _fsatomic():
    """lib/fsatomic.py itself (it is plain Python that CPython runs too): the host frames
    files exactly as the device reads them."""
    spec = importlib.util.spec_from_file_location("_upile_fsatomic", paths.ROOT / "lib" / "fsatomic.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def framed(data):
    """Bytes of a file written with fsatomic.write(path, data) on the device."""
    if isinstance(data, str):
        data = data.encode()
    import struct
    from binascii import crc32

    fa = _fsatomic()
    return struct.pack(fa._HDR, fa._MAGIC, len(data), crc32(data)) + data


def app_tree(arch, root=paths.ROOT):
    """{relative path: bytes} of the compiled app (the tree a slot holds)."""
    from upile.cmd_build import build

    # another tree (deploy --src) builds into its own build/, never over this repo's
    out_dir = Path(build(arch, out=None if root == paths.ROOT else root / "build" / arch, root=root))
    tree = {}
    for rel in paths.app_sources(root):
        mpy = rel[:-3] + ".mpy"
        tree[mpy] = (out_dir / mpy).read_bytes()
    return tree


def boot_libs(tree):
    """{"/lib/x.mpy": bytes} for the boot-critical libs present in the app tree."""
    return {"/lib/" + name + ".mpy": tree["lib/%s.mpy" % name] for name in BOOT_LIBS
            if "lib/%s.mpy" % name in tree}


def load_config(path):
    """The validated device config from a JSON file, or UserError naming what is wrong."""
    from upile.hostconfig import read_config

    return read_config(path)


def slot_manifest(tree, version, signer=None):
    """The slot's signed manifest bytes, or None when no signer is available.

    The manifest format and signing belong to the release tools (`upile.release`); a factory
    image without one boots only if the boot selector accepts an unsigned factory slot.
    """
    if signer is None:
        return None
    return signer(tree, version)


def slot_index(tree):
    """The slot's files.idx: the release's index.txt for this tree (upile.release lays files
    out in sorted path order), so the app's adopt finds the index the manifest signs."""
    import hashlib

    from upile import release

    return release.index_text([(rel, len(tree[rel]), hashlib.sha256(tree[rel]).hexdigest()) for rel in sorted(tree)])


def files(arch="xtensawin", config=None, keys=None, signer=None, version=None, root=paths.ROOT):
    """Everything a factory-fresh pile holds. `config` is a validated dict or None (defaults)."""
    tree = app_tree(arch, root)
    out = {"/boot.py": (root / "boot.py").read_bytes(), "/main.py": (root / "main.py").read_bytes()}
    out.update(boot_libs(tree))
    base = "/slots/%s/" % SLOT
    for rel, data in tree.items():
        out[base + rel] = data
    manifest = slot_manifest(tree, version or app_version(root), signer)
    if manifest is not None:
        out[base + MANIFEST_NAME] = manifest
        out[base + INDEX_NAME] = slot_index(tree)  # the manifest signs its hash (docs/releases.md)
    if keys is not None:
        out["/config/keys.json"] = json.dumps(keys, sort_keys=True).encode()
    if config is not None:
        out["/config/pile.json"] = framed(json.dumps(config))
    out["/ota/state.json"] = framed(json.dumps(initial_ota_state()))
    return out


def default_product(root=paths.ROOT):
    from upile.hostconfig import firmware_config

    return firmware_config().defaults()["pile"]["product"]


def initial_ota_state():
    """The boot state (lib/bootstate.py) of a factory slot: active, not pinned yet (the app
    pins it by checking its signed manifest on first boot: firmware/ota/factoryslot.py)."""
    return {"active": SLOT, "pending": None, "trials": 0, "boots": 0, "booted": None, "max_trials": 3,
            "slots": {}, "counter": 0}


def app_version(root=paths.ROOT):
    text = (root / "firmware" / "version.py").read_text()
    for line in text.splitlines():
        if line.startswith("VERSION"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise UserError("firmware/version.py has no VERSION")
