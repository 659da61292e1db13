# Where the boot (lib/bootchoice.py) puts the app slot on sys.path, and why: an image that
# freezes firmware/ and lib/ (manifest.py) must not shadow the slot, or no app update could
# replace a frozen module. Also the one console line it prints when it rolls a trial back.
import os
import sys

import bootchoice
import fsatomic
import slotcheck
import thisboot

TMP = os.getenv("UPILE_TMP")
_saved = None
_PROBES = ("upile_probe", "probepkg", "probepkg.app", "argparse")


def setup():
    global _saved
    _saved = list(sys.path)
    thisboot.STATE = TMP + "/ota/state.json"
    fsatomic.mkdirs(TMP + "/ota")
    slotcheck.SLOTS = TMP + "/slots/"
    bootchoice.FROZEN = ".frozen"
    thisboot.selected, thisboot.trial = None, False
    for m in _PROBES:
        sys.modules.pop(m, None)


def teardown():
    sys.path[:] = _saved
    for m in _PROBES:
        sys.modules.pop(m, None)


def _rest():
    """The test's own sys.path entries (lib/ with the boot modules), kept reachable."""
    return [p for p in _saved if p not in ("", ".frozen", "/lib")]


def _write(path, text):
    fsatomic.mkdirs(path[: path.rfind("/")])
    with open(path, "w") as f:
        f.write(text)


def _factory_state(active="a"):
    # a factory slot without a pin: the boot runs it (the app pins it later)
    fsatomic.write_json(thisboot.STATE, {"active": active, "pending": None, "trials": 0, "slots": {}})


def test_boot_path_order_slot_before_frozen_and_empty_first():
    _factory_state()
    rest = _rest()
    sys.path[:] = ["", ".frozen", "/lib"] + rest
    assert bootchoice.boot(1) == "a"
    a = TMP + "/slots/a"
    assert sys.path == ["", a, a + "/lib", ".frozen", "/lib"] + rest
    # a second boot() (soft reset keeps sys.path) does not duplicate or reorder the entries
    assert bootchoice.boot(1) == "a"
    assert sys.path == ["", a, a + "/lib", ".frozen", "/lib"] + rest


def test_without_frozen_entry_the_slot_goes_before_lib_and_never_before_empty():
    _factory_state("b")
    sys.path[:] = ["", "/lib"] + _rest()
    bootchoice.boot(1)
    b = TMP + "/slots/b"
    assert sys.path == ["", b, b + "/lib", "/lib"] + _rest()
    sys.path[:] = [".frozen", "/lib"] + _rest()  # no '' at all: the slot still precedes .frozen
    bootchoice.boot(1)
    assert sys.path == [b, b + "/lib", ".frozen", "/lib"] + _rest()


def test_slot_module_wins_over_the_same_module_in_the_frozen_directory():
    frozen = TMP + "/frozen"  # stands for the image's .frozen entry
    bootchoice.FROZEN = frozen
    _write(frozen + "/upile_probe.py", "WHERE = 'frozen'\n")
    _write(frozen + "/probepkg/__init__.py", "")
    _write(frozen + "/probepkg/app.py", "WHERE = 'frozen'\n")
    _write(frozen + "/frozen_only.py", "WHERE = 'frozen'\n")
    sys.path[:] = ["", frozen, "/lib"] + _rest()
    import upile_probe

    assert upile_probe.WHERE == "frozen"  # control: the stand-in really serves imports
    sys.modules.pop("upile_probe")
    _write(TMP + "/slots/a/upile_probe.py", "WHERE = 'slot'\n")
    _write(TMP + "/slots/a/probepkg/__init__.py", "")
    _write(TMP + "/slots/a/probepkg/app.py", "WHERE = 'slot'\n")  # like firmware/app.mpy
    _factory_state()
    assert bootchoice.boot(1) == "a"
    import upile_probe
    from probepkg import app

    assert upile_probe.WHERE == "slot" and app.WHERE == "slot"
    import frozen_only  # a module the slot does not ship still comes from the frozen copy

    assert frozen_only.WHERE == "frozen"
    sys.modules.pop("frozen_only", None)


def test_slot_module_wins_over_a_real_frozen_module():
    # argparse is frozen into this MicroPython (a stand-in for a frozen firmware module)
    sys.path[:] = ["", ".frozen", "/lib"] + _rest()
    import argparse

    assert not hasattr(argparse, "SLOT_COPY")  # control: the frozen one
    sys.modules.pop("argparse")
    _write(TMP + "/slots/a/argparse.py", "SLOT_COPY = True\n")
    _factory_state()
    bootchoice.boot(1)
    import argparse

    assert argparse.SLOT_COPY is True


def test_rollback_prints_one_line_with_versions_counters_and_reason():
    lines = []
    bootchoice.print = lambda *a: lines.append(" ".join(str(x) for x in a))
    fsatomic.write_json(thisboot.STATE, {"active": "a", "pending": "b", "trials": 3, "max_trials": 3, "booted": None,
                         "last_failure": "RuntimeError('broken')", "counter": 6,
                         "slots": {"a": {"pin": None, "counter": 6, "version": "1.2.2"},
                                   "b": {"pin": "00", "counter": 7, "version": "1.2.3"}}})
    sys.path[:] = ["", ".frozen", "/lib"] + _rest()
    try:
        assert bootchoice.boot(3) == "a"
    finally:
        del bootchoice.print
    assert lines == ["boot: RolledBack slot=b v=1.2.3 counter=7 -> slot=a v=1.2.2 counter=6 "
                     "reason=failed 3 trial boots: RuntimeError('broken')"], lines
    st = thisboot.read_state()
    assert st["pending"] is None and st["rolled_back"] == [7] and st["last_rollback"]["version"] == "1.2.3"
