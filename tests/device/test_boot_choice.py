# timeout: 300
# The boot-time slot choice (lib/bootchoice.choose) is a pure function; here it runs over
# every state shape x reset cause (unknown 0, PWRON 1, HARD 2, WDT 3, DEEPSLEEP 4, SOFT 5)
# x reset intent x failed-trial count 0..max (and one past it) x slot check outcome, and
# every decision is checked against the trial rule: only a watchdog reset or a HARD reset
# without an intent counts against a trial, rollback happens exactly when the count
# reaches max_trials (or the pending slot does not check out), no slot runs unchecked (but
# the unpinned factory slot, by design), the rolled-back slot never runs, and nothing of
# the arguments changes.
import json

import bootchoice

CAUSES = (0, 1, 2, 3, 4, 5)
INTENTS = (None, "console", "install")
VERDICTS = (None, "sha256 mismatch: firmware/app.mpy")  # a slot's check: fine, or why not


def _other(s):
    return "b" if s == "a" else "a"


def _decide(st, cause, intent, results):
    """Run choose() as boot() does, answering its check requests from `results`."""
    checks, asked = {}, []
    while True:
        out = bootchoice.choose(st, cause, intent, checks)
        if out[0] != "check":
            return out, asked
        slot = out[1]
        assert slot not in checks, ("asked twice", slot)
        asked.append(slot)
        checks[slot] = results[slot]


def _shapes():
    for active in ("a", "b"):
        spare = _other(active)
        for pending in (None, spare, active):  # pending == active: no install makes it
            for booted in (None, spare, active):
                for act_pin in (None, "pin-" + active):
                    for pend_pin in (None, "pin-" + spare):
                        for max_t in (1, 3):
                            for trials in range(max_t + 2):
                                yield {"active": active, "pending": pending, "booted": booted, "trials": trials,
                                       "boots": 2, "max_trials": max_t, "counter": 6, "rolled_back": [3],
                                       "last_failure": None, "last_rollback": None,
                                       "slots": {active: {"pin": act_pin, "counter": 6, "version": "1.0"},
                                                 spare: {"pin": pend_pin, "counter": 7, "version": "2.0"}}}


def _check_one(st, cause, intent, results):
    before = json.dumps(st)
    (action, slot, new, line, problem), asked = _decide(st, cause, intent, results)
    assert json.dumps(st) == before, "choose() changed its argument"
    again, _ = _decide(st, cause, intent, results)
    assert again == (action, slot, new, line, problem), "choose() is not deterministic"
    where = (st, cause, intent, results, action, slot, new, line)
    act = st["active"]
    pend = st["pending"] if st["pending"] != act else None
    pend_pin = st["slots"][_other(act)]["pin"]
    counted = pend is not None and st["booted"] == pend and intent is None and cause in (2, 3)
    trials = st["trials"] + (1 if counted else 0)
    roll = pend is not None and (trials >= st["max_trials"] or not pend_pin or results[pend] is not None)

    assert new["active"] in ("a", "b"), where
    # the trial rule
    if pend is not None and not roll:
        assert action == "trial" and slot == pend, where
        assert new["trials"] == trials and new["booted"] == pend and new["pending"] == pend, where
        assert line is None, where
    if cause in (0, 1, 4, 5) or intent is not None:  # never counts: power cut, deep sleep, soft, deliberate
        assert not counted and (roll or new["trials"] == st["trials"]), where
    if roll:  # exactly at max_trials, or a pending slot that does not check out
        assert action != "trial" and slot != pend, where
        assert new["pending"] is None and new["booted"] is None and new["trials"] == 0, where
        assert new["last_rollback"]["slot"] == pend and 7 in new["rolled_back"] and 3 in new["rolled_back"], where
        assert line.startswith("boot: RolledBack slot=%s v=2.0 counter=7 -> slot=%s " % (pend, act)), where
        if trials >= st["max_trials"]:
            assert "failed %d trial boots" % trials in line, where
        else:
            assert "slot check failed" in line, where
    else:
        assert new.get("last_rollback") is None and new["rolled_back"] == [3], where
    # what runs
    if action in ("trial", "run"):
        factory = action == "run" and slot == act and not st["slots"][act]["pin"]
        assert factory or (slot in asked and results[slot] is None), ("ran an unchecked slot", where)
    if action == "run":
        assert slot != st["pending"] or st["pending"] == act, ("ran the pending slot off trial", where)
        if slot == act:
            assert new["active"] == act, where
        else:  # SlotFailed: the active slot is pinned and does not check out, the other one does
            assert st["slots"][act]["pin"] and results[act] is not None and new["active"] == slot, where
            assert "boot: SlotFailed slot=%s -> slot=%s" % (act, slot) in line, where
            assert slot != st["pending"], where
    if action == "none":
        assert slot is None and "boot: NoSlot reason=active slot %s" % act in line, where
        assert st["slots"][act]["pin"] and results[act] is not None, where
    if not roll and action == "run":
        assert line is None or "SlotFailed" in line, where
    # every slot it asked about had a pin (an unpinned slot is never "checked")
    for s in asked:
        assert st["slots"][s]["pin"], where
    # a pinned active slot that checks out runs whenever nothing is on trial
    if action != "trial" and st["slots"][act]["pin"] and results[act] is None:
        assert action == "run" and slot == act, where
    return action


def test_every_state_shape_cause_intent_trial_count_and_check_outcome():
    n = 0
    seen = {}
    for st in _shapes():
        for cause in CAUSES:
            for intent in INTENTS:
                for ra in VERDICTS:
                    for rb in VERDICTS:
                        action = _check_one(st, cause, intent, {"a": ra, "b": rb})
                        seen[action] = seen.get(action, 0) + 1
                        n += 1
    assert n == 2 * 3 * 3 * 2 * 2 * (3 + 5) * 6 * 3 * 4, n
    assert set(seen) == {"trial", "run", "none"}, seen  # every outcome was reached


def test_only_a_watchdog_reset_or_a_hard_reset_without_intent_counts():
    table = {(cause, intent): bootchoice.counts(cause, intent) for cause in CAUSES for intent in INTENTS}
    # a set: a dict's order in MicroPython follows hashes, and None hashes by its address
    assert {k for k, v in table.items() if v} == {(2, None), (3, None)}, table


def _installed(max_trials=3):
    return {"active": "a", "pending": "b", "booted": None, "trials": 0, "boots": 0, "max_trials": max_trials,
            "counter": 6, "rolled_back": [], "slots": {"a": {"pin": "pa", "counter": 6, "version": "1.0"},
                                                      "b": {"pin": "pb", "counter": 7, "version": "2.0"}}}


def _boot(st, cause, intent=None):
    (action, slot, new, line, _), _ = _decide(st, cause, intent, {"a": None, "b": None})
    return action, slot, new, line


def test_a_trial_interrupted_on_purpose_many_times_stays_a_trial():
    # install (deliberate HARD), then the console: soft resets, mpremote's raw REPL,
    # a reboot command, the console watchdog timeout, power cuts and deep sleep
    st = _installed()
    steps = [(2, "install")] + [(5, "console"), (5, None), (2, "console"), (3, "console"), (1, None), (4, None)] * 5
    for cause, intent in steps:
        action, slot, st, line = _boot(st, cause, intent)
        assert (action, slot, st["trials"], st["pending"], line) == ("trial", "b", 0, "b", None), (cause, intent, st)
    assert st["boots"] == len(steps)


def test_panics_and_watchdog_resets_roll_back_exactly_at_max_trials():
    st = _installed(max_trials=3)
    action, _, st, _ = _boot(st, 2, "install")
    assert action == "trial"
    action, _, st, _ = _boot(st, 2)  # a panic: HARD without intent
    assert (action, st["trials"]) == ("trial", 1) and "panic" in st["last_failure"]
    action, _, st, _ = _boot(st, 1)  # a power cut in between changes nothing
    assert (action, st["trials"]) == ("trial", 1)
    action, _, st, _ = _boot(st, 3)  # a hang: the watchdog
    assert (action, st["trials"]) == ("trial", 2) and "watchdog" in st["last_failure"]
    action, slot, st, line = _boot(st, 3)
    assert (action, slot, st["pending"], st["rolled_back"]) == ("run", "a", None, [7])
    assert line == ("boot: RolledBack slot=b v=2.0 counter=7 -> slot=a v=1.0 counter=6 reason=failed 3 trial "
                    "boots: reset during trial (cause 3: watchdog: a hang)")


def test_a_failure_recorded_by_the_app_is_not_counted_again_by_its_reset():
    st = _installed(max_trials=2)
    _, _, st, _ = _boot(st, 2, "install")
    st["trials"], st["booted"] = 1, None  # what bootstate.record_failure leaves (main.py caught a crash)
    action, _, st, _ = _boot(st, 2)  # main.py's reset after it: HARD without intent
    assert (action, st["trials"]) == ("trial", 1)
