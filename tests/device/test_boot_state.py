# The boot state's transitions (lib/bootstate.py, its only writer), the reset intent in RTC
# memory, and boot() -- the I/O around the pure choice -- on real slot files: a deliberate
# reset during a trial leaves the trial running, a HARD reset without intent counts.
import hashlib
import os
import sys
from binascii import hexlify

import bootchoice
import bootstate
import fsatomic
import slotcheck
import thisboot

TMP = os.getenv("UPILE_TMP")
_saved = None


class FakeRTC:
    """machine.RTC's memory(): kept across resets, emptied by a power cut."""

    def __init__(self, data=b""):
        self.mem = data

    def memory(self, data=None):
        if data is None:
            return self.mem
        self.mem = bytes(data)


def setup():
    global _saved
    _saved = list(sys.path)
    thisboot.STATE = TMP + "/ota/state.json"
    fsatomic.mkdirs(TMP + "/ota")
    slotcheck.SLOTS = TMP + "/slots/"
    fsatomic.remove(thisboot.STATE)
    thisboot.selected, thisboot.trial, thisboot.rtc = None, False, FakeRTC()


def teardown():
    sys.path[:] = _saved
    thisboot.rtc = None


def _state(**kw):
    st = {"active": "a", "pending": None, "booted": None, "trials": 0, "boots": 0, "max_trials": 3, "counter": 6,
          "rolled_back": [], "slots": {"a": {"pin": "pa", "counter": 6, "version": "1.0"}}}
    st.update(kw)
    fsatomic.write_json(thisboot.STATE, st)  # as the factory writes it
    return st


def test_intent_is_kept_until_cleared_and_never_read_from_foreign_rtc_memory():
    assert bootstate.reset_intent() is None
    assert bootstate.intend_reset("install") is True
    assert bootstate.reset_intent() == "install"
    assert bootstate.reset_intent() == "install"  # reading does not consume it (a soft reset into the raw REPL)
    bootstate.clear_intent()
    assert bootstate.reset_intent() is None and thisboot.rtc.mem == b""
    thisboot.rtc.mem = b"another module's data"
    assert bootstate.reset_intent() is None
    bootstate.clear_intent()
    assert thisboot.rtc.mem == b"another module's data"  # not ours: left alone
    thisboot.rtc = None  # a port without RTC memory: no intent can be kept
    assert bootstate.intend_reset("install") is False and bootstate.reset_intent() is None


def test_set_pending_then_confirm_makes_the_trial_slot_active_once():
    _state()
    meta = {"pin": "pb", "counter": 7, "version": "2.0", "env": "e"}
    bootstate.set_pending("b", meta, 2, 45000)
    st = thisboot.read_state()
    assert (st["pending"], st["max_trials"], st["wdt_ms"], st["trials"], st["booted"]) == ("b", 2, 45000, 0, None)
    assert st["slots"]["b"] == meta
    thisboot.selected, thisboot.trial = "a", False
    assert bootstate.confirm() is False  # not on trial: nothing to confirm
    thisboot.selected, thisboot.trial = "b", True
    assert bootstate.confirm() is True
    st = thisboot.read_state()
    assert (st["active"], st["pending"], st["counter"], thisboot.trial) == ("b", None, 7, False)
    assert bootstate.confirm() is False


def test_a_recorded_failure_counts_once_and_only_for_the_trial_running():
    _state(pending="b", booted="b", slots={"a": {"pin": "pa"}, "b": {"pin": "pb", "counter": 7}})
    thisboot.selected, thisboot.trial = "a", False  # the old slot runs: a crash there is no trial's
    assert bootstate.record_failure("RuntimeError('x')") is False
    assert thisboot.read_state()["trials"] == 0
    thisboot.selected, thisboot.trial = "b", True
    assert bootstate.record_failure("RuntimeError('y')") is True
    st = thisboot.read_state()
    assert (st["trials"], st["booted"], st["last_failure"]) == (1, None, "RuntimeError('y')")
    assert bootstate.record_failure("again") is False  # booted cleared: its reset is not counted again
    assert thisboot.read_state()["trials"] == 1


def test_rollback_is_reported_once_and_images_move_the_counter_or_the_rolled_back_list():
    _state(last_rollback={"slot": "b", "counter": 7, "version": "2.0", "reason": "r"})
    assert bootstate.rollback_reported()["counter"] == 7
    assert bootstate.rollback_reported() is None
    bootstate.image_pending({"label": "ota_1", "counter": 9, "version": "3.0"})
    assert bootstate.image_confirmed()["counter"] == 9
    st = thisboot.read_state()
    assert st["image"] is None and st["counter"] == 9
    bootstate.image_pending({"label": "ota_0", "counter": 10, "version": "4.0"})
    assert bootstate.image_rolled_back()["counter"] == 10
    st = thisboot.read_state()
    assert st["image"] is None and st["rolled_back"] == [10] and st["counter"] == 9
    bootstate.pin_slot("a", {"pin": "p", "counter": 12, "version": "5.0", "env": "e"})
    st = thisboot.read_state()
    assert st["slots"]["a"]["pin"] == "p" and st["counter"] == 12


def _slot(letter, files):
    """Write a slot with its files.idx; returns its pin."""
    d = TMP + "/slots/" + letter
    lines = []
    for path, data in sorted(files.items()):
        fsatomic.mkdirs((d + "/" + path)[: (d + "/" + path).rfind("/")])
        with open(d + "/" + path, "wb") as f:
            f.write(data)
        lines.append("%s %d 0 %s\n" % (hexlify(hashlib.sha256(data).digest()).decode(), len(data), path))
    idx = "".join(lines).encode()
    with open(d + "/files.idx", "wb") as f:
        f.write(idx)
    return hexlify(hashlib.sha256(idx).digest()).decode()


def _boot(cause):
    lines = []
    bootchoice.print = lambda *a: lines.append(" ".join(str(x) for x in a))
    try:
        return bootchoice.boot(cause), lines
    finally:
        del bootchoice.print


def test_boot_keeps_the_trial_through_deliberate_resets_and_counts_a_panic():
    pa = _slot("a", {"firmware/app.py": b"A = 1\n"})
    pb = _slot("b", {"firmware/app.py": b"A = 2\n", "lib/x.py": b"X = 1\n"})
    _state(pending="b", max_trials=2, slots={"a": {"pin": pa, "counter": 6, "version": "1.0"},
                                             "b": {"pin": pb, "counter": 7, "version": "2.0"}})
    bootstate.intend_reset("install")
    assert _boot(2) == ("b", [])  # the install's reset: the trial starts
    assert thisboot.trial and thisboot.selected == "b"
    assert thisboot.read_state()["booted"] == "b"
    for cause in (5, 2, 3):  # soft, reboot command, console watchdog: all with an intent
        bootstate.intend_reset("console")
        assert _boot(cause) == ("b", [])
        assert thisboot.read_state()["trials"] == 0
    bootstate.clear_intent()  # main.py started the app
    assert _boot(2) == ("b", [])  # a panic
    assert thisboot.read_state()["trials"] == 1
    slot, lines = _boot(3)  # the watchdog: the second failed trial of two
    assert slot == "a" and not thisboot.trial
    assert lines == ["boot: RolledBack slot=b v=2.0 counter=7 -> slot=a v=1.0 counter=6 reason=failed 2 trial "
                     "boots: reset during trial (cause 3: watchdog: a hang)"]
    st = thisboot.read_state()
    assert st["pending"] is None and st["rolled_back"] == [7] and st["last_rollback"]["slot"] == "b"
    assert sys.path.index(TMP + "/slots/a") < sys.path.index(TMP + "/slots/a/lib")


def test_boot_rolls_back_a_pending_slot_whose_files_changed():
    pa = _slot("a", {"firmware/app.py": b"A = 1\n"})
    pb = _slot("b", {"firmware/app.py": b"A = 2\n"})
    with open(TMP + "/slots/b/firmware/app.py", "wb") as f:
        f.write(b"A = 3\n")  # same size, other bytes
    _state(pending="b", slots={"a": {"pin": pa, "counter": 6, "version": "1.0"},
                               "b": {"pin": pb, "counter": 7, "version": "2.0"}})
    slot, lines = _boot(1)
    assert slot == "a" and "reason=slot check failed: sha256 mismatch: firmware/app.py" in lines[0], lines
