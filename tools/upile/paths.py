"""Where things are in the source tree and what counts as 'the app'."""
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
# The app: what an app slot holds. boot.py and main.py stay outside the slots.
APP_DIRS = ("firmware", "lib")
# Nothing in the app trees is sim-only any more (the sim chip's flash is chip/simflash.py);
# a path listed here would be left out of builds, releases and slots.
NOT_SHIPPED = ()


def tool(name):
    """Path of a command installed in the same venv as this interpreter."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        from upile.errors import UserError

        raise UserError("%s not found: run `make venv` first" % name)
    return found


def app_sources(root=ROOT):
    """Sorted relative paths of the app's .py files."""
    out = []
    for d in APP_DIRS:
        for p in sorted((root / d).rglob("*.py")):
            rel = p.relative_to(root).as_posix()
            if rel not in NOT_SHIPPED and "__pycache__" not in rel:
                out.append(rel)
    return out
