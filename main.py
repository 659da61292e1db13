# main.py: runs the app from the slot boot.py chose. Stays outside the app slots.
# - Every boot arms the watchdog (timeout: the boot state's wdt_ms); the app feeds it
#   (firmware/board/system.feed_watchdog), so a hang becomes a WDT reset, which counts
#   against a trial.
# - Starting the app clears a deliberate reset's intent: from here on a reset counts.
# - An exception escaping the app is recorded (a failed trial during a trial), then the
#   chip resets.
# - Ctrl-C (a console tool stops the app on purpose) records the intent "console" and
#   re-arms the watchdog with the long console timeout (console_wdt_ms, 10 min): time at
#   the REPL, after which the pile resets itself back into charging, not counted.
# The state's writer (lib/bootstate.py) is loaded only for these steps, never kept.
import sys

import thisboot


def _machine():
    try:
        import machine  # entry point outside the slots: may not depend on the app's board layer

        return machine
    except ImportError:
        return None


def _arm(ms):
    """Arm the watchdog, or give it a new timeout: it is one per chip, and re-creating it
    reconfigures it (the ESP32 port's machine.WDT), never a second one."""
    m = _machine()
    if m is not None and hasattr(m, "WDT"):
        thisboot.watchdog = m.WDT(timeout=ms)


def _writer():
    import bootstate  # the state's only writer: the caller drops it again

    return bootstate


def _start(st):
    _arm(st.get("wdt_ms", 30000))
    _writer().clear_intent()
    sys.modules.pop("bootstate", None)


def _console(st):
    _writer().intend_reset("console")
    ms = st.get("console_wdt_ms", 600000)
    _arm(ms)
    print("main: stopped from the console; the watchdog resets the pile in %d s" % (ms // 1000))


def _fail(e):
    print("main: the app failed:", repr(e))
    sys.print_exception(e)
    try:
        _writer().record_failure(repr(e))
    except (ImportError, OSError, ValueError, MemoryError) as e2:
        print("main: could not record the failure:", repr(e2))
    m = _machine()
    if m and hasattr(m, "reset"):
        m.reset()  # no intent: had the failure not been recorded, this reset counts instead
    sys.exit(1)


_st = thisboot.read_state() or {}
try:
    _start(_st)
    from firmware import app

    app.main()
except KeyboardInterrupt:
    for _ in range(3):  # mpremote sends Ctrl-C twice: the second may land in here
        try:
            _console(_st)
            break
        except KeyboardInterrupt:
            pass
    raise
except BaseException as e:  # everything escaping the app, SystemExit and MemoryError too
    _fail(e)
