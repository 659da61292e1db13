# MicroPython program run by test_build_imports.py (not a test itself).
# argv: tolerate_hw (0/1), then module names. Imports each one and prints one line per
# module: "OK name", "HW name msg" (needs machine/esp32/network that this interpreter lacks,
# only reported when tolerate_hw is 1) or "FAIL name Type: msg".
import sys

_HW = ("machine", "esp32", "network", "can't import name")


def main():
    tolerate_hw = sys.argv[1] == "1"
    for name in sys.argv[2:]:
        try:
            __import__(name)
            print("OK", name)
        except ImportError as e:
            msg = str(e)
            if tolerate_hw and name.startswith("firmware.board.") and any(h in msg for h in _HW):
                print("HW", name, msg)
            else:
                print("FAIL", name, "ImportError:", msg)
        except Exception as e:  # any import-time error is what this check is for
            print("FAIL", name, type(e).__name__ + ":", e)


main()
