"""The boot-time choice of the app slot (boot.py -> boot(); dropped from the heap after it).

choose() is a pure function: (boot state, reset cause, reset intent, slot check results)
-> (action, slot, new state, console line, problem). No I/O inside: it never reads a file
or the clock and never changes its arguments, so tests/device/test_boot_choice.py runs it
over every state shape, reset cause and trial count. When it needs to know whether a slot's
files check out it answers ("check", slot) and boot() -- the I/O around it -- verifies the
slot (lib/slotcheck.py) and asks again; boot() then records the result through the state's
only writer (lib/bootstate.py) and puts the slot on sys.path.

The trial rule: a reset counts against the release on trial only when it means the release
is unhealthy: a watchdog reset, or a HARD reset nobody asked for (a panic; a deliberate
machine.reset() records its intent first, firmware/board/system.reset). Power cuts
(PWRON, also brownout), deep sleep wake-ups, soft resets (Ctrl-D, mpremote, upile tools)
and every reset with an intent never count. A crash that main.py caught, or the health
rule not met in time, was already counted by bootstate.record_failure before its reset.
"""
import sys
from micropython import const

import bootstate
import slotcheck

_HARD = const(2)  # reset causes as machine.reset_cause() gives them (PWRON 1, DEEPSLEEP 4, SOFT 5)
_WDT = const(3)
FROZEN = ".frozen"  # sys.path entry of the image's frozen modules (tests point it elsewhere)


def counts(cause, intent):
    """True when a reset of this cause during a trial means the release is unhealthy."""
    return intent is None and (cause == _HARD or cause == _WDT)


def _pin(st, slot):
    return ((st.get("slots") or {}).get(slot) or {}).get("pin")


def _roll_back(st, reason):
    """Pure: the pending slot rolled back in st; returns the console line."""
    bad = st["pending"]
    slots = st.get("slots") or {}
    meta = slots.get(bad) or {}
    c = meta.get("counter")
    st["rolled_back"] = list(st.get("rolled_back") or ())  # a copy: the caller's list stays
    bootstate.remember_rolled_back(st, c)
    st["last_rollback"] = {"slot": bad, "counter": c, "version": meta.get("version"), "reason": reason}
    act = st["active"]
    good = slots.get(act) or {}
    st["pending"] = None
    st["booted"] = None
    st["trials"] = 0
    st["boots"] = 0
    # the one console line a bench tool or a technician reads (upile deploy matches it)
    return "boot: RolledBack slot=%s v=%s counter=%s -> slot=%s v=%s counter=%s reason=%s" % (
        bad, meta.get("version"), c, act, good.get("version"), good.get("counter"), reason)


def choose(state, cause, intent, checks):
    """Which slot runs this boot. `checks` maps slot -> None (its files check out) or the
    reason they do not; a slot that must be checked and is not in it comes back as
    ("check", slot, None, None, None). Otherwise (action, slot, new_state, line, problem):
    action "trial" (slot = the pending slot, on trial), "run" (slot, not on trial) or
    "none" (no slot can run: slot None); line is a console line or None."""
    st = dict(state)
    pend0 = pend = st.get("pending")
    line = None
    if pend == st["active"]:  # not a shape an install makes: nothing to try
        st["pending"] = pend = None
    if pend:
        if st.get("booted") == pend and counts(cause, intent):
            st["trials"] = st.get("trials", 0) + 1
            st["booted"] = None
            st["last_failure"] = "reset during trial (cause %d: %s)" % (
                cause, "watchdog: a hang" if cause == _WDT else "hard reset without intent: a panic")
        if st.get("trials", 0) >= st.get("max_trials", 3):
            line = _roll_back(st, "failed %d trial boots: %s" % (st["trials"], st.get("last_failure")))
        elif not _pin(st, pend):
            line = _roll_back(st, "slot check failed: no pinned index")
        elif pend not in checks:
            return "check", pend, None, None, None
        elif checks[pend] is None:
            st["booted"] = pend
            st["boots"] = st.get("boots", 0) + 1  # for the record: only trial boots
            return "trial", pend, st, None, ""
        else:
            line = _roll_back(st, "slot check failed: " + checks[pend])
    act = st["active"]
    if not _pin(st, act):
        # a factory slot, written whole on the line: runs once unpinned, and the app's
        # OTA service checks its signed manifest and pins it (firmware/ota/factoryslot.py)
        return "run", act, st, line, "active slot %s not pinned yet" % act
    if act not in checks:
        return "check", act, None, None, None
    if checks[act] is None:
        return "run", act, st, line, ""
    problem = "active slot %s: %s" % (act, checks[act])
    o = slotcheck.other(act)
    meta = (st.get("slots") or {}).get(o) or {}
    if o != pend0 and meta.get("pin"):  # never the slot that was on trial or just rolled back
        if o not in checks:
            return "check", o, None, None, None
        if checks[o] is None:
            st["active"] = o
            st["counter"] = meta.get("counter", st.get("counter", 0))
            return "run", o, st, _lines(line, "boot: SlotFailed slot=%s -> slot=%s v=%s counter=%s reason=%s" % (
                act, o, meta.get("version"), meta.get("counter"), checks[act])), problem
    return "none", None, st, _lines(line, "boot: NoSlot reason=" + problem), problem


def _lines(a, b):
    return b if a is None else a + "\n" + b


def use(slot):
    """Put the slot where `.frozen` stands: an image with frozen firmware/ and lib/ must not
    shadow the slot, or no app update could replace a frozen module. '' stays first."""
    d = slotcheck.slot_dir(slot)
    path = sys.path
    for p in (d + "/lib", d):
        if p in path:
            path.remove(p)
    i = path.index(FROZEN) if FROZEN in path else (path.index("/lib") if "/lib" in path else len(path))
    if i == 0 and path and path[0] == "":
        i = 1
    path.insert(i, d + "/lib")
    path.insert(i, d)


def boot(cause):
    """Pick and prepare the slot for this boot; returns the slot letter or None."""
    st = bootstate.read()
    if st is None:
        bootstate.record_boot(None, False, None, False, "no boot state: running without a slot")
        return None
    intent = bootstate.reset_intent()
    checks = {}
    while True:
        action, slot, new, line, problem = choose(st, cause, intent, checks)
        if action != "check":
            break
        checks[slot] = slotcheck.verify_slot(slot, _pin(st, slot))  # the I/O step
    # written before any app code runs and before the line that tools act on
    bootstate.record_boot(new, new != st, slot, action == "trial", problem)
    if line:
        print(line)
    if slot:
        use(slot)
    return slot
