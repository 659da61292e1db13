# boot.py: runs first on every reset. It is never replaced by an app OTA, so it must
# stay small and correct: it only puts the app on sys.path.
import sys

if "/lib" not in sys.path:
    sys.path.append("/lib")
