"""What this boot is, and the boot state as it stands (read only).

Resident while the app runs, so it stays small: the slot this boot runs and whether it is
on trial (set at boot through lib/bootstate.py), why the preferred slot did not run, the
watchdog main.py armed for this boot, the RTC boot.py handed over (its memory keeps a
deliberate reset's intent), and read_state(): /ota/state.json as it is now. Only
lib/bootstate.py writes the state; it is loaded for a transition and dropped again, so
its code is not in the heap while the app runs (nor during an update's download).
"""
import fsatomic

STATE = "/ota/state.json"

selected = None  # slot letter running this boot, or None (no slot: factory/dev tree)
trial = False  # True while a pending slot runs on trial
problem = ""  # why the preferred slot was not run (for the log and the backend)
watchdog = None  # the machine.WDT main.py armed for this boot (firmware/board/system.py feeds it)
rtc = None  # machine.RTC() handed over by boot.py: its memory keeps a reset's intent


def read_state():
    """The boot state, or None when absent or damaged (then no slot is trusted)."""
    try:
        st = fsatomic.read_json(STATE)
    except fsatomic.Corrupt:
        return None
    if not isinstance(st, dict) or st.get("active") not in ("a", "b"):
        return None
    return st
