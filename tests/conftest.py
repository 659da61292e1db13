"""Collects tests/device/test_*.py and runs each file inside the `micropython` binary.

Each `def test_*` / `async def test_*` in a device file becomes its own pytest item.
The first item of a file to run starts one `micropython` process for the whole file
(tests/device/_runner.py) and the others read its cached results. A first-line comment
`# heapsize: 64K` overrides the default heap limit (256K); `# timeout: 300` the time limit.

A test file with a `# long: 150 s` comment (its wall time, roughly) runs before the others,
longest first: with `pytest -n 2 --dist loadfile --no-loadscope-reorder` the long sim-board
files then overlap the many short ones instead of running alone at the end of the suite
(without that flag xdist 3.x orders files by their number of tests, which puts a long file of
one test last).
"""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEVICE_DIR = ROOT / "tests" / "device"
sys.path.insert(0, str(ROOT / "tests"))
from mpy import micropython_bin, device_path  # noqa: E402

_TEST_DEF = re.compile(r"^(?:async\s+)?def\s+(test_\w+)\s*\(", re.M)
_HEAP = re.compile(r"^#\s*heapsize:\s*(\S+)", re.M)
_TIMEOUT = re.compile(r"^#\s*timeout:\s*(\d+)", re.M)


def pytest_pycollect_makemodule(module_path, parent):
    # Device files are never imported by CPython: answering this first-result hook
    # replaces the Python plugin's Module collector for them.
    if module_path.parent == DEVICE_DIR:
        return DeviceFile.from_parent(parent, path=module_path)
    return None


class DeviceFile(pytest.File):
    def collect(self):
        text = self.path.read_text()
        head = text[:400]
        m = _HEAP.search(head)
        self.heap = m.group(1) if m else "256K"
        m = _TIMEOUT.search(head)
        self.timeout = int(m.group(1)) if m else 120
        self.names = _TEST_DEF.findall(text)
        self.results = None
        for name in self.names:
            yield DeviceItem.from_parent(self, name=name)

    def run_all(self):
        if self.results is not None:
            return self.results
        env = dict(os.environ)
        env["MICROPYPATH"] = device_path()
        tmp = tempfile.mkdtemp(prefix="upile-dev-")
        env["UPILE_TMP"] = tmp
        cmd = [micropython_bin(), "-X", "heapsize=" + self.heap, str(DEVICE_DIR / "_runner.py"), self.path.stem] + self.names
        try:
            p = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=self.timeout)
            out, err, rc = p.stdout, p.stderr, p.returncode
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            err, rc = "timed out after %ds" % self.timeout, -1
        self.results = _parse(out)
        self.tail = "exit %s\n--- stdout (tail)\n%s\n--- stderr\n%s" % (rc, out[-3000:], err[-3000:])
        return self.results


def _parse(out):
    results, tb, cur, lines = {}, {}, None, []
    for line in out.splitlines():
        if line.startswith("@@T "):
            _, name, status = line.split()
            results[name] = [status, ""]
        elif line.startswith("@@TB "):
            cur, lines = line.split()[1], []
        elif line == "@@TB-END" and cur:
            if cur in results:
                results[cur][1] = "\n".join(lines)
            cur = None
        elif cur:
            lines.append(line)
    return results


class DeviceTestFailure(Exception):
    pass


class DeviceItem(pytest.Item):
    def runtest(self):
        results = self.parent.run_all()
        if self.name not in results:
            raise DeviceTestFailure("test did not report (crash, MemoryError or timeout?)\n" + self.parent.tail)
        status, tb = results[self.name]
        if status != "PASS":
            raise DeviceTestFailure("%s under micropython (heap %s):\n%s" % (status, self.parent.heap, tb))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, DeviceTestFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, "device: %s::%s" % (self.path.name, self.name)


_LONG = re.compile(r"^#\s*long:\s*(\d+)\s*s", re.M)
_long_cache = {}


def _long_s(path):
    """The `# long: N s` of a test file (0 when it has none)."""
    key = str(path)
    if key not in _long_cache:
        try:
            with open(key, encoding="utf-8") as f:
                m = _LONG.search(f.read(4096))
        except OSError:
            m = None
        _long_cache[key] = int(m.group(1)) if m else 0
    return _long_cache[key]


def pytest_collection_modifyitems(session, config, items):
    """Long files first (stable: the rest keep their order); see the module docstring."""
    items.sort(key=lambda item: -_long_s(item.path))
