"""`upile build`: compile the app with mpy-cross into build/<arch>/ (same tree as a slot)."""
import subprocess
from pathlib import Path

from upile import paths
from upile.errors import UserError

ARCHES = ("x64", "xtensawin")


def add_arguments(p):
    p.add_argument("--arch", default="x64", choices=ARCHES,
                   help="native-code target: x64 for the sim chip on this host, xtensawin for an ESP32")
    p.add_argument("--out", type=Path, help="output folder (default build/<arch>)")
    p.add_argument("-O", dest="opt", type=int, default=1, help="mpy-cross optimisation level (drops asserts)")


def build(arch="x64", out=None, opt=1, root=paths.ROOT):
    """Compile every app module; returns the output folder. Unchanged files are skipped;
    .mpy files whose source is gone are removed."""
    out = Path(out or paths.BUILD / arch)
    if root == paths.ROOT:
        from upile import ocppgen

        ocppgen.generate()  # the OCPP validation tables and clock floor (generated, not committed)
    mpy = paths.tool("mpy-cross")
    sources = paths.app_sources(root)
    want = {rel[:-3] + ".mpy" for rel in sources}
    for old in out.rglob("*.mpy") if out.is_dir() else ():
        if old.relative_to(out).as_posix() not in want:
            old.unlink()  # its source is gone: releases and slots ship this whole tree
    for rel in sources:
        src = root / rel
        dst = out / (rel[:-3] + ".mpy")
        if dst.exists() and dst.stat().st_mtime >= src.stat().st_mtime:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        cmd = [mpy, "-march=" + arch, "-O%d" % opt, "-s", rel, "-o", str(dst), str(src)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode:
            raise UserError("mpy-cross rejected %s:\n%s" % (rel, p.stderr.strip()))
    return out


def run(args):
    out = build(args.arch, args.out, args.opt)
    print("built %d modules into %s" % (len(paths.app_sources()), out))
    return 0
