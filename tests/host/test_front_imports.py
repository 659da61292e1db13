"""The front is a protocol-like client of the pile (docs/front.md): no module of
firmware/front imports the charging or metering domain, or touches the hardware itself
(machine, esp32, network: only firmware/board does); its config rules import under CPython."""
import ast
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("firmware.charging", "firmware.meter", "machine", "esp32", "network", "firmware.board")


def _imports(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom):
            yield node.module or ""


def test_the_front_talks_to_the_pile_only_through_the_station_and_the_bus():
    bad = []
    files = sorted((ROOT / "firmware" / "front").glob("*.py"))
    assert len(files) >= 15
    for f in files:
        for mod in _imports(f):
            if any(mod == x or mod.startswith(x + ".") for x in FORBIDDEN):
                bad.append("%s imports %s" % (f.name, mod))
    assert not bad, bad


def test_the_front_rules_import_under_cpython():
    sys.path.insert(0, str(ROOT))
    try:
        rules = importlib.import_module("firmware.front.rules")
        from firmware import config

        cfg = config.defaults()
        for name in ("check_front",):
            assert getattr(rules, name)(cfg) is None
    finally:
        sys.path.remove(str(ROOT))
