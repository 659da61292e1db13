"""The boot state's only writer: /ota/state.json and the reset intent, by named transitions.

Every change of the state goes through one of the transitions below; no other module
writes the file (tests/host/test_boot_state_owner.py checks it). Lives in /lib, outside
the app slots, so a bad app release can never break rollback. It is loaded for a
transition and dropped again (sys.modules; in the app firmware.ota.forget): what stays in
the heap while the app runs is lib/thisboot.py (this boot's slot, trial, watchdog, and
read_state()). The boot-time choice of a slot is lib/bootchoice.py, a pure function over
this state; the slot file check is lib/slotcheck.py.

State (atomic JSON via fsatomic): {"active": "a", "pending": null|"b", "trials": failed
trials of pending, "boots": trial boots so far (for the record), "booted": the slot whose
trial is running (a reset that means "unhealthy" counts against it), "max_trials": 3,
"wdt_ms": the app's watchdog timeout, "console_wdt_ms": the watchdog timeout once the app
is stopped from the console, "slots": {"a": {"pin", "counter", "version", "env"}},
"counter": installed counter, "rolled_back": [counters], "last_rollback": {...}|null,
"last_failure": text, "image": {...}|null (an image release on trial in the bootloader)}.

Reset intent: why the next reset is deliberate (console, install, upile deploy, reboot
command), kept in RTC memory, not in the file: it costs no flash write, it survives every
reset that can follow it (soft, machine.reset, watchdog, panic, deep sleep) and a power
cut clears it (a power cut never counts anyway, and a stale intent must not outlive it).
boot.py hands over machine.RTC() (thisboot.rtc); main.py clears the intent when it starts
the app.
"""
import fsatomic
import thisboot

_TAG = b"upile-reset:"  # an intent in RTC memory starts with this (anything else: none)
_KEEP_ROLLED = 8  # rolled-back counters remembered
read = thisboot.read_state


def _write(st):
    path = thisboot.STATE
    fsatomic.mkdirs(path[: path.rfind("/")])
    fsatomic.write_json(path, st)


def remember_rolled_back(st, counter):
    """Add a rolled-back counter to st (never installed again automatically). Pure: st only."""
    rb = st.setdefault("rolled_back", [])
    if counter is not None and counter not in rb:
        rb.append(counter)
        del rb[:-_KEEP_ROLLED]


# ---- transitions ----
def record_boot(st, changed, slot, is_trial, why=""):
    """Boot: the slot chosen for this boot (lib/bootchoice.py) and the state the choice
    left, written before any app code runs (a cut here keeps the old or the new state)."""
    if changed:
        _write(st)
    thisboot.selected, thisboot.trial, thisboot.problem = slot, is_trial, why


def set_pending(slot, meta, max_trials=3, wdt_ms=None):
    """Install: `slot` holds a verified release (meta: pin, counter, version, env); try it
    from the next boot on, `max_trials` times."""
    st = read()
    if st is None:
        raise OSError(2)  # installs need a boot state: provision the device first
    st.setdefault("slots", {})[slot] = meta
    st["pending"] = slot
    st["trials"] = 0
    st["boots"] = 0
    st["booted"] = None
    st["max_trials"] = max_trials
    st["last_failure"] = None
    if wdt_ms:
        st["wdt_ms"] = wdt_ms
    _write(st)


def confirm():
    """The running trial slot is healthy: make it active. True if the state changed."""
    st = read()
    slot = thisboot.selected
    if st is None or not thisboot.trial or st.get("pending") != slot:
        return False
    st["active"] = slot
    st["pending"] = None
    st["booted"] = None
    st["trials"] = 0
    st["boots"] = 0
    st["counter"] = ((st.get("slots") or {}).get(slot) or {}).get("counter", st.get("counter", 0))
    _write(st)
    thisboot.trial = False
    return True


def record_failure(text):
    """The running release is unhealthy (an exception escaped the app, a task crashed, the
    health rule was not met in time): during a trial it counts as one failed trial, and
    the reset that follows is not counted again. True if it counted."""
    st = read()
    if st is None:
        return False
    st["last_failure"] = text[:200]
    slot = thisboot.selected
    counted = thisboot.trial and st.get("pending") == slot and st.get("booted") == slot
    if counted:
        st["trials"] = st.get("trials", 0) + 1
        st["booted"] = None
    _write(st)
    return counted


def rollback_reported():
    """The OTA service announced the last rollback: it is reported once. Returns it or None."""
    st = read()
    rb = st and st.get("last_rollback")
    if rb:
        st["last_rollback"] = None
        _write(st)
    return rb


def pin_slot(slot, meta):
    """A factory slot's signed manifest checked out (firmware/ota/factoryslot.py): pin it."""
    st = read()
    if st is None:
        return
    st.setdefault("slots", {})[slot] = meta
    st["counter"] = max(st.get("counter", 0), meta["counter"])
    _write(st)


def image_pending(meta):
    """Install of an image release: the bootloader boots it next (set_boot done)."""
    st = read() or {"active": "a"}
    st["image"] = meta
    _write(st)


def image_confirmed():
    """The image on trial is healthy (marked valid in the bootloader). Returns its meta."""
    st = read()
    img = st and st.get("image")
    if img:
        st["counter"] = max(st.get("counter", 0), img.get("counter", 0))
        st["image"] = None
        _write(st)
    return img


def image_rolled_back():
    """The bootloader rolled the image on trial back. Returns its meta."""
    st = read()
    img = st and st.get("image")
    if img:
        remember_rolled_back(st, img.get("counter"))
        st["image"] = None
        _write(st)
    return img


# ---- reset intent (RTC memory) ----
def intend_reset(reason):
    """The next reset is deliberate (console, install, deploy, reboot command): the boot
    after it does not count it against a trial. Call right before resetting (see
    firmware/board/system.reset). False when there is no RTC memory to keep it in."""
    if thisboot.rtc is None:
        return False
    thisboot.rtc.memory(_TAG + reason.encode()[:64])
    return True


def reset_intent():
    """Why the last reset was deliberate, or None (then its cause alone decides)."""
    if thisboot.rtc is None:
        return None
    m = bytes(thisboot.rtc.memory())
    if not m.startswith(_TAG):
        return None
    return m[len(_TAG):].decode() or "deliberate"


def clear_intent():
    """The app starts (main.py): from here on a reset counts again unless it says why."""
    rtc = thisboot.rtc
    if rtc is not None and bytes(rtc.memory()).startswith(_TAG):
        rtc.memory(b"")
