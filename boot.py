# boot.py: runs first on every reset, soft ones too. It is never replaced by an app OTA, so it
# stays small: it hands the reset cause, and the RTC whose memory keeps a deliberate reset's
# intent, to the boot-time slot choice (lib/bootchoice.py, in /lib outside the slots), which
# puts the chosen slot on sys.path. The choice and the state's writer then leave the heap.
import sys

if "/lib" not in sys.path:
    sys.path.append("/lib")
try:
    import machine  # entry point outside the slots: may not depend on the app's board layer

    _cause, _rtc = machine.reset_cause(), machine.RTC()
except (ImportError, AttributeError):  # the Unix port's built-in machine has neither
    _cause, _rtc = 1, None
try:
    import thisboot
    import bootchoice

    thisboot.rtc = _rtc
    bootchoice.boot(_cause)
except (ImportError, OSError, ValueError) as e:
    print("boot: slot selection failed:", repr(e))
finally:
    for _m in ("bootchoice", "bootstate"):  # boot-time code: not kept while the app runs
        sys.modules.pop(_m, None)
    bootchoice = _cause = _rtc = _m = None
