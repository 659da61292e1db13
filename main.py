# main.py: runs the app from the slot boot.py chose. Stays outside the app slots. During a
# trial boot it arms the watchdog (a hang becomes a reset), and an exception escaping the
# app is recorded as a failed trial before the chip resets: bootsel rolls back after N.
import sys

import bootsel


def _machine():
    try:
        import machine  # entry point outside the slots: may not depend on the app's board layer

        return machine
    except ImportError:
        return None


def _arm_watchdog():
    st = bootsel.read_state() or {}
    m = _machine()
    if bootsel.trial and m and hasattr(m, "WDT"):
        bootsel.wdt = m.WDT(timeout=st.get("wdt_ms", 30000))


def _fail(e):
    print("main: the app failed:", repr(e))
    sys.print_exception(e)
    try:
        bootsel.record_failure(repr(e))
    except (OSError, ValueError) as e2:
        print("main: could not record the failure:", repr(e2))
    m = _machine()
    if m and hasattr(m, "reset"):
        m.reset()
    sys.exit(1)


_arm_watchdog()
try:
    from firmware import app

    app.main()
except KeyboardInterrupt:
    raise
except BaseException as e:  # everything escaping the app, SystemExit and MemoryError too
    _fail(e)
