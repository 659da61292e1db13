"""`upile fsimage`: a littlefs image of a factory-fresh pile for the ESP32 `vfs` partition.

The image is read back by littlefs-python and by MicroPython's own VfsLfs2 before it is
written out; both must see every file with the bytes that were put in.
"""
import json
from pathlib import Path

from upile import factory, lfsimage, paths
from upile.errors import UserError

VFS_SIZE = 0xF0000  # the vfs partition of MicroPython's 4 MiB OTA table (upile.espimage)


def add_arguments(p):
    p.add_argument("--out", required=True, type=Path, help="image file to write (vfs.bin)")
    p.add_argument("--size", type=lambda s: int(s, 0), default=VFS_SIZE,
                   help="partition size in bytes (default 0x%x, 4 MiB OTA table)" % VFS_SIZE)
    p.add_argument("--config", type=Path, help="device config (pile.json) to include")
    p.add_argument("--keys", type=Path, help="trusted release keys (keys.json, `upile keygen`) to include")
    p.add_argument("--key", type=Path, help="release private key: sign slot a's manifest with it")
    p.add_argument("--counter", type=int, default=0, help="release counter of the factory app (anti-rollback)")
    p.add_argument("--expires", default=None, help="manifest expiry ('+365d', a date; default a year)")
    p.add_argument("--arch", default="xtensawin", choices=("xtensawin", "x64"),
                   help="mpy-cross target: xtensawin for an ESP32, x64 for the sim board")
    p.add_argument("--src", type=Path, default=None, help="source tree to build (default: this repo)")
    p.add_argument("--no-check", action="store_true", help="skip the read-back by MicroPython's VfsLfs2")


def read_keys(path):
    if path is None:
        return None
    try:
        keys = json.loads(Path(path).read_text())
    except OSError as e:
        raise UserError("cannot read keys %s: %s" % (path, e.strerror or e))
    except ValueError:
        raise UserError("keys %s is not valid JSON" % path)
    if not isinstance(keys, dict) or not keys:
        raise UserError("keys %s: expected an object of key ids" % path)
    return keys


def make_image(size, arch="xtensawin", config_path=None, keys_path=None, check=True, key=None, counter=0,
               expires=None, src=None):
    """(image bytes, files put in, blocks used)."""
    config = factory.load_config(config_path) if config_path else None
    product = ((config or {}).get("pile") or {}).get("product") or factory.default_product()
    signer = release_signer(key, counter, product, expires) if key else None
    root = Path(src).resolve() if src else paths.ROOT
    if not (root / "firmware").is_dir():
        raise UserError("%s has no firmware/ folder: not a uPile source tree" % root)
    files = factory.files(arch, config=config, keys=read_keys(keys_path), signer=signer, root=root)
    image, used = lfsimage.build(files, size)
    if check:
        lfsimage.cross_check(image, files)
    return image, files, used


def release_signer(key, counter, product, expires):
    """(tree, version) -> manifest.dsse.json bytes, signed by upile.release like any release,
    so the app's first boot adopts (checks and pins) the factory slot as it would an OTA."""
    import tempfile

    from upile import release

    def sign(tree, version):
        with tempfile.TemporaryDirectory(prefix="upile-factory-") as tmp:
            app = Path(tmp) / "app"
            for rel, data in tree.items():
                (app / rel).parent.mkdir(parents=True, exist_ok=True)
                (app / rel).write_bytes(data)
            release.make_release(app, "app", version, counter, key, product, expires, Path(tmp) / "rel")
            return (Path(tmp) / "rel" / release.MANIFEST).read_bytes()

    return sign


def run(args):
    image, files, used = make_image(args.size, args.arch, args.config, args.keys, not args.no_check,
                                    args.key, args.counter, args.expires, args.src)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(image)
    except OSError as e:
        raise UserError("cannot write %s: %s" % (args.out, e.strerror or e))
    total = sum(len(b) for b in files.values())
    print("%s: %d files, %d bytes of content, %d of %d blocks used%s"
          % (args.out, len(files), total, used, args.size // lfsimage.BLOCK,
             "" if args.no_check else "; littlefs-python and VfsLfs2 read the same bytes"))
    if factory.SLOT and "/slots/a/" + factory.MANIFEST_NAME not in files:
        print("note: slot a has no signed manifest (give --key): the app cannot adopt it and OTA "
              "installs cannot copy its unchanged files")
    return 0
