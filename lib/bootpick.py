"""Boot-time slot choice (boot.py -> bootsel.boot -> here): which slot runs, trial boots,
rollback, the slot's check before any of its code runs, sys.path. Its own module so that
none of this code stays in the heap while the app runs (bootsel drops it after the boot);
the state it reads and writes and the slot checks are bootsel's."""
import sys
from micropython import const

import bootsel

_PWRON = const(1)  # reset causes as machine.reset_cause() gives them
_DEEPSLEEP = const(4)
_KEEP_ROLLED = const(8)  # rolled-back counters remembered


def _roll_back(st, reason):
    bad = st["pending"]
    meta = st.get("slots", {}).get(bad) or {}
    c = meta.get("counter")
    rb = st.setdefault("rolled_back", [])
    if c is not None and c not in rb:
        rb.append(c)
        del rb[:-_KEEP_ROLLED]
    st["last_rollback"] = {"slot": bad, "counter": c, "version": meta.get("version"), "reason": reason}
    act = st.get("active")
    good = st.get("slots", {}).get(act) or {}
    # the one console line a bench tool or a technician reads (upile deploy matches it)
    print("bootsel: RolledBack slot=%s v=%s counter=%s -> slot=%s v=%s counter=%s reason=%s" % (
        bad, meta.get("version"), c, act, good.get("version"), good.get("counter"), reason))
    st["pending"] = None
    st["booted"] = None
    st["trials"] = 0
    st["boots"] = 0


def _use(slot, is_trial):
    """Put the slot where `.frozen` stands: an image with frozen firmware/ and lib/ must not
    shadow the slot, or no app update could replace a frozen module. '' stays first."""
    bootsel.selected, bootsel.trial = slot, is_trial
    d = bootsel.slot_dir(slot)
    for p in (d + "/lib", d):
        if p in sys.path:
            sys.path.remove(p)
    path = sys.path
    frozen = bootsel.FROZEN
    i = path.index(frozen) if frozen in path else (path.index("/lib") if "/lib" in path else len(path))
    if i == 0 and path and path[0] == "":
        i = 1
    path.insert(i, d + "/lib")
    path.insert(i, d)


def _pick(st, cause):
    """Decide which slot runs; mutates st; returns (slot or None, is_trial)."""
    pend = st.get("pending")
    slots = st.get("slots", {})
    if pend:
        if st.get("booted") == pend and cause not in (_PWRON, _DEEPSLEEP):
            # the last trial ended by watchdog, panic or reset without confirming
            st["trials"] = st.get("trials", 0) + 1
            st["last_failure"] = "reset during trial (cause %d: hang or crash)" % cause
        maxt = st.get("max_trials", 3)
        st["boots"] = st.get("boots", 0) + 1  # for the record: power cuts never roll back
        if st.get("trials", 0) >= maxt:
            _roll_back(st, "failed %d trial boots: %s" % (st["trials"], st.get("last_failure")))
        else:
            err = bootsel.verify_slot(pend, (slots.get(pend) or {}).get("pin"))
            if err is None:
                st["booted"] = pend
                return pend, True
            _roll_back(st, "slot check failed: " + err)
    act = st["active"]
    if not (slots.get(act) or {}).get("pin"):
        # a factory slot, written whole on the line: runs once unpinned, and the app's
        # OTA service checks its signed manifest and pins it (firmware/ota/adopt.py)
        bootsel.problem = "active slot %s not pinned yet" % act
        return act, False
    err = bootsel.verify_slot(act, (slots.get(act) or {}).get("pin"))
    if err is None:
        return act, False
    bootsel.problem = "active slot %s: %s" % (act, err)
    o = bootsel.other(act)
    meta = slots.get(o) or {}
    if o != pend and bootsel.verify_slot(o, meta.get("pin")) is None:
        st["active"] = o
        st["counter"] = meta.get("counter", st.get("counter", 0))
        print("bootsel: SlotFailed slot=%s -> slot=%s v=%s counter=%s reason=%s" % (
            act, o, meta.get("version"), meta.get("counter"), err))
        return o, False
    print("bootsel: NoSlot reason=%s" % bootsel.problem)
    return None, False


def boot(cause):
    """Pick and prepare the slot for this boot; returns the slot letter or None."""
    st = bootsel.read_state()
    if st is None:
        bootsel.problem = "no boot state: running without a slot"
        return None
    before = repr(st)
    slot, is_trial = _pick(st, cause)
    if repr(st) != before:
        bootsel.write_state(st)  # before any app code runs: a cut here keeps old or new state
    if slot:
        _use(slot, is_trial)
    return slot
