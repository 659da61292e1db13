"""The compiled app (`upile build`) loads under MicroPython, module by module.

mpy-cross already rejects syntax MicroPython does not have; importing each .mpy then catches
what only shows at load or import time (a CPython-only import, a name error at module level,
an .mpy the interpreter cannot load). boot.py and main.py ship as source outside the slots
and run on import, so they are only compiled (by micropython's own `compile`), not run.

Board modules (firmware/board/*) need the chip's `machine`/`esp32`/`network`. When the sim
chip (`chip/`) is in the tree it goes first on MICROPYPATH, as `.frozen` on the sim board,
and they must import like everything else. Without `chip/`, the plain Unix port lacks those
APIs: such a module may then fail ONLY with an ImportError naming them (it was still
compiled and its .mpy loaded); any other error fails the test.
"""
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mpy import micropython_bin  # noqa: E402

from upile import cmd_build, paths  # noqa: E402
from upile.errors import UserError  # noqa: E402

ROOT = paths.ROOT
IMPORTER = Path(__file__).with_name("build_importer.py")


def _mods(out):
    """Dotted module names of every .mpy under the build tree, as a slot's sys.path sees them."""
    names = []
    for p in sorted(out.rglob("*.mpy")):
        rel = p.relative_to(out).with_suffix("")
        parts = rel.parts[1:] if rel.parts[0] == "lib" else rel.parts  # lib/ is its own path entry
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def test_every_compiled_module_imports_under_micropython(tmp_path):
    out = cmd_build.build("x64", tmp_path / "x64")
    mods = _mods(out)
    assert len(list(out.rglob("*.mpy"))) == len(paths.app_sources())
    assert "journal" in mods and "fsatomic" in mods and "firmware.app" in mods
    chip = ROOT / "chip"
    # as on the board: frozen modules (asyncio...) first, then the chip, then the slot
    path = [".frozen"] + ([str(chip)] if chip.is_dir() else []) + [str(out), str(out / "lib")]
    env = dict(os.environ, MICROPYPATH=":".join(path))
    tolerate_hw = "0" if chip.is_dir() else "1"

    def one(mod):  # a fresh interpreter per module: its own imports only, as on a cold boot
        p = subprocess.run(
            [micropython_bin(), "-X", "heapsize=256K", str(IMPORTER), tolerate_hw, mod],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        )
        return (p.stdout.strip() or "FAIL %s rc=%d %s" % (mod, p.returncode, p.stderr[-2000:])).splitlines()[-1]

    with ThreadPoolExecutor(2) as pool:
        lines = list(pool.map(one, mods))
    failed = [ln for ln in lines if not ln.startswith(("OK ", "HW "))]
    assert not failed, "\n".join(failed)
    assert len(lines) == len(mods)
    # the .mpy files were loaded, not sources from the work tree
    assert not (out / "lib" / "journal.py").exists()


@pytest.mark.parametrize("name", ["boot.py", "main.py"])
def test_boot_and_main_compile_under_micropython(name):
    src = ROOT / name
    code = "compile(open(%r).read(), %r, 'exec'); print('compiled')" % (str(src), name)
    p = subprocess.run([micropython_bin(), "-c", code], capture_output=True, text=True, timeout=30)
    assert p.stdout.strip() == "compiled", p.stderr


def test_build_rejects_syntax_micropython_lacks(tmp_path):
    # `match` is valid CPython 3.10+ but MicroPython has no match statement
    (tmp_path / "lib").mkdir()
    (tmp_path / "firmware").mkdir()
    (tmp_path / "lib" / "good.py").write_text("X = 1\n")
    (tmp_path / "firmware" / "bad.py").write_text("def f(x):\n    match x:\n        case 1:\n            return 2\n")
    with pytest.raises(UserError, match="firmware/bad.py"):
        cmd_build.build("x64", tmp_path / "out", root=tmp_path)


def test_import_check_catches_cpython_only_module(tmp_path):
    # compiles fine, fails only when MicroPython imports it: what the import step is for
    (tmp_path / "lib").mkdir()
    (tmp_path / "firmware").mkdir()
    (tmp_path / "lib" / "uses_typing.py").write_text("import typing\nT = typing.List\n")
    out = cmd_build.build("x64", tmp_path / "out", root=tmp_path)
    env = dict(os.environ, MICROPYPATH=":".join([".frozen", str(out), str(out / "lib")]))
    p = subprocess.run([micropython_bin(), str(IMPORTER), "1", "uses_typing"], env=env, capture_output=True, text=True, timeout=30)
    assert p.stdout.startswith("FAIL uses_typing ImportError"), p.stdout + p.stderr


def test_build_removes_modules_whose_source_is_gone(tmp_path):
    # a stale .mpy would ship in every release made from the build tree
    (tmp_path / "lib").mkdir()
    (tmp_path / "firmware").mkdir()
    (tmp_path / "lib" / "keep.py").write_text("X = 1\n")
    (tmp_path / "lib" / "gone.py").write_text("X = 2\n")
    out = cmd_build.build("x64", tmp_path / "out", root=tmp_path)
    assert (out / "lib" / "gone.mpy").exists()
    (tmp_path / "lib" / "gone.py").unlink()
    cmd_build.build("x64", tmp_path / "out", root=tmp_path)
    assert sorted(p.name for p in out.rglob("*.mpy")) == ["keep.mpy"]
