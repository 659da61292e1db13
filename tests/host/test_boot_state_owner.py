"""The boot state has one writer. Only lib/bootstate.py (its writer) and lib/thisboot.py (which
defines the path and reads it) may know where /ota/state.json lives; every other device module
changes the state through bootstate's named transitions (docs/ota.md). This reads every device
source (boot.py, main.py, firmware/, lib/) and lists what else names the file, its path
constant, or bootstate's private writer, and who calls record_boot (it writes the state a
boot chose: lib/bootchoice.py only)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OWNERS = {"lib/bootstate.py", "lib/thisboot.py"}


def device_sources():
    yield from (ROOT / "boot.py", ROOT / "main.py")
    for top in ("firmware", "lib"):
        yield from sorted((ROOT / top).rglob("*.py"))


def state_references(path):
    """(line, what) for every mention of the state file, its path constant or the writer's
    private _write in one source file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "state.json" in node.value:
            found.append((node.lineno, "the path %r" % node.value))
        elif isinstance(node, ast.Name) and node.id == "STATE":
            found.append((node.lineno, "STATE"))
        elif isinstance(node, ast.Attribute) and (node.attr == "STATE" or (
                node.attr in ("_write", "record_boot") and isinstance(node.value, ast.Name)
                and node.value.id == "bootstate")):
            found.append((node.lineno, "." + node.attr))
    return found


def test_only_bootstate_and_thisboot_know_where_the_boot_state_lives():
    others = {}
    for path in device_sources():
        rel = path.relative_to(ROOT).as_posix()
        refs = state_references(path)
        if rel in OWNERS:
            assert refs, rel  # the check sees the owners' own references: it can find them
        elif rel == "lib/bootchoice.py":
            assert [r for r in refs if r[1] == ".record_boot"] and not [r for r in refs if r[1] != ".record_boot"], refs
        elif refs:
            others[rel] = refs
    assert others == {}, "write the boot state through lib/bootstate.py's transitions: %r" % others
