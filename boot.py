# boot.py: runs first on every reset. It is never replaced by an app OTA, so it must
# stay small and correct: it only picks the app slot (lib/bootsel.py, kept in /lib outside
# the slots) and puts it on sys.path. The reset cause tells bootsel how a trial ended.
import sys

if "/lib" not in sys.path:
    sys.path.append("/lib")
try:
    import machine  # entry point outside the slots: may not depend on the app's board layer

    _cause = machine.reset_cause()
except (ImportError, AttributeError):  # the Unix port's built-in machine has no reset_cause
    _cause = 1
try:
    import bootsel

    bootsel.boot(_cause)
except (ImportError, OSError, ValueError) as e:
    print("boot: slot selection failed:", repr(e))
