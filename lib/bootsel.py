"""Boot slot selector and owner of the OTA boot state (/ota/state.json).

Lives in /lib, outside the app slots, so a bad app release can never break rollback.
boot.py calls boot(reset_cause) once; it picks the app slot, gives a pending slot a
limited number of trial boots, verifies the chosen slot's files before anything of it
runs, falls back to the other slot, and puts the slot on sys.path. That choosing code is
lib/bootpick.py, loaded only for it; what stays in the heap while the app runs (the state
file, slot checks, trial bookkeeping) is here.

Trust chain: the OTA fetcher checks the signed manifest, derives the slot's file index
(`files.idx`: one line "sha256hex size offset path" per file) from it and pins the
index's SHA-256 in the state file, which only this module and the fetcher write
(atomically, via fsatomic). At boot every file is re-hashed against the pinned index, so
a tampered or half-written slot is never run.

State: {"active": "a", "pending": null|"b", "trials": failed trials of pending,
"boots": trial boots, "booted": slot whose trial is running, "max_trials": 3,
"slots": {"a": {"pin", "counter", "version", "env"}}, "counter": installed counter,
"rolled_back": [counters], "last_rollback": {...}|null, "last_failure": text}.
"""
import os
import sys
from binascii import hexlify

import fsatomic

STATE = "/ota/state.json"
SLOTS = "/slots/"
INDEX = "files.idx"
ENVELOPE = "manifest.dsse.json"
_PWRON = 1  # machine.PWRON_RESET
FROZEN = ".frozen"  # sys.path entry of the image's frozen modules (tests point it elsewhere)

selected = None  # slot letter running this boot, or None (no slot: factory/dev tree)
trial = False  # True while a pending slot runs on trial
problem = ""  # why the preferred slot was not run (for the log and the backend)
wdt = None  # the trial watchdog, when main.py armed one (the app keeps feeding it)
_buf = None


def other(slot):
    return "b" if slot == "a" else "a"


def slot_dir(slot):
    return SLOTS + slot


def read_state():
    """The boot state, or None when absent or damaged (then no slot is trusted)."""
    try:
        st = fsatomic.read_json(STATE)
    except fsatomic.Corrupt:
        return None
    if not isinstance(st, dict) or st.get("active") not in ("a", "b"):
        return None
    return st


def write_state(st):
    fsatomic.mkdirs("/ota")
    fsatomic.write_json(STATE, st)


def buffer():
    """The one 1 KiB I/O buffer for slot checks and OTA downloads (made on first use,
    then kept: a long-running heap may lack the contiguous block later, and a second
    buffer would cost its size at the update's peak)."""
    global _buf
    if _buf is None:
        _buf = bytearray(1024)
    return _buf


def hash_file(path, size_limit=None):
    """(sha256 bytes, size) of a file read in pieces of buffer(); None if it cannot be read."""
    import hashlib

    buf = buffer()
    h = hashlib.sha256()
    n = 0
    mv = memoryview(buf)
    try:
        with open(path, "rb") as f:
            while True:
                k = f.readinto(buf)
                if not k:
                    break
                h.update(mv[:k])
                n += k
                if size_limit is not None and n > size_limit:
                    return None
    except OSError:
        return None
    return h.digest(), n


def env_sha(env):
    """Hex sha256 of a release envelope: how the boot state names the release in a slot."""
    import hashlib

    return hexlify(hashlib.sha256(env).digest()).decode()


def index_lines(slot):
    """Yield (sha_hex, size, offset, path) for every file of the slot's index (streamed)."""
    with open(slot_dir(slot) + "/" + INDEX) as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 3)
            if len(parts) != 4:
                raise ValueError("bad index line")
            yield parts[0], int(parts[1]), int(parts[2]), parts[3]


def _count_files(d):
    n = 0
    for ent in os.ilistdir(d):
        name, kind = ent[0], ent[1]
        if kind == 0x4000:
            n += _count_files(d + "/" + name)
        elif name not in (INDEX, ENVELOPE) or d.count("/") > 2:
            n += 1
    return n


def verify_slot(slot, pin):
    """None when every file of the slot matches its pinned index, else the reason."""
    if not pin:
        return "no pinned index"
    d = slot_dir(slot)
    got = hash_file(d + "/" + INDEX, 1 << 20)
    if got is None:
        return "index missing"
    if hexlify(got[0]).decode() != pin:
        return "index does not match its pin"
    count = 0
    lines = index_lines(slot)
    try:
        for sha, size, _, path in lines:
            got = hash_file(d + "/" + path, size)
            if got is None or got[1] != size:
                return "missing or wrong size: " + path
            if hexlify(got[0]).decode() != sha:
                return "sha256 mismatch: " + path
            count += 1
        extra = _count_files(d) - count
    except (OSError, ValueError) as e:
        return "unreadable slot: %s" % (e,)
    finally:
        lines.close()  # the index file closes now, not in a garbage collection
    if extra:
        return "%d files not in the manifest" % extra
    return None


def boot(cause=_PWRON):
    """Pick and prepare the slot for this boot; returns the slot letter or None. The
    choosing code is lib/bootpick.py, dropped from the heap again once it has run."""
    try:
        import bootpick

        return bootpick.boot(cause)
    finally:
        sys.modules.pop("bootpick", None)


def record_failure(text):
    """main.py: an exception escaped the app; during a trial it counts as a failed trial."""
    st = read_state()
    if st is None:
        return
    st["last_failure"] = text[:200]
    if trial and st.get("pending") == selected and st.get("booted") == selected:
        st["trials"] = st.get("trials", 0) + 1
        st["booted"] = None  # counted here, not again by the next boot's reset cause
    write_state(st)


def set_pending(slot, meta, max_trials=3):
    """Fetcher: `slot` holds a verified release (meta: pin, counter, version, env); try it next boot."""
    st = read_state()
    if st is None:
        raise OSError(2)  # installs need a boot state: provision the device first
    st.setdefault("slots", {})[slot] = meta
    st["pending"] = slot
    st["trials"] = 0
    st["boots"] = 0
    st["booted"] = None
    st["max_trials"] = max_trials
    st["last_failure"] = None
    write_state(st)


def confirm():
    """The running trial slot is healthy: make it active. Returns True if state changed."""
    global trial
    st = read_state()
    if st is None or not trial or st.get("pending") != selected:
        return False
    st["active"] = selected
    st["pending"] = None
    st["booted"] = None
    st["trials"] = 0
    st["boots"] = 0
    st["counter"] = (st.get("slots", {}).get(selected) or {}).get("counter", st.get("counter", 0))
    write_state(st)
    trial = False
    return True
