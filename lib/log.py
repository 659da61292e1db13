"""Levelled logger with a module tag, printing to the console and keeping a bounded ring on flash.

The ring is two files (`<dir>/log.0` newest, `<dir>/log.1` older), each at most `ring_bytes`;
when log.0 fills it becomes log.1. Field engineers read it with `upile logs`. Flash writes
are flushed per line only for WARN and above, so routine INFO lines cost little wear.
"""
import os
import time
from micropython import const

DEBUG = const(10)
INFO = const(20)
WARN = const(30)
ERROR = const(40)
_NAMES = {DEBUG: "D", INFO: "I", WARN: "W", ERROR: "E"}

level = INFO
_ring = None  # (dir, max bytes) once enable_ring() was called
_f = None
_size = 0


def enable_ring(directory="/data/log", ring_bytes=8192):
    global _ring, _f, _size
    try:
        os.mkdir(directory)
    except OSError:
        pass
    _ring = (directory, ring_bytes)
    try:
        _size = os.stat(directory + "/log.0")[6]
    except OSError:
        _size = 0
    _f = None


def _rotate():
    global _f, _size
    d = _ring[0]
    if _f:
        _f.close()
        _f = None
    try:
        os.rename(d + "/log.0", d + "/log.1")
    except OSError:
        pass
    _size = 0


def _emit(lvl, tag, msg):
    global _f, _size
    line = "%d %s %s: %s" % (time.time(), _NAMES.get(lvl, "?"), tag, msg)
    print(line)
    if _ring is None:
        return
    try:
        if _size + len(line) + 1 > _ring[1]:
            _rotate()
        if _f is None:
            _f = open(_ring[0] + "/log.0", "a")
        _f.write(line + "\n")
        _size += len(line) + 1
        if lvl >= WARN:
            _f.flush()
    except OSError:
        pass  # a full or failing flash must never stop the firmware from running


def flush():
    if _f:
        try:
            _f.flush()
        except OSError:
            pass


class Logger:
    def __init__(self, tag):
        self.tag = tag

    def _log(self, lvl, fmt, args):
        if lvl >= level:
            _emit(lvl, self.tag, (fmt % args) if args else fmt)

    def debug(self, fmt, *args):
        self._log(DEBUG, fmt, args)

    def info(self, fmt, *args):
        self._log(INFO, fmt, args)

    def warn(self, fmt, *args):
        self._log(WARN, fmt, args)

    def error(self, fmt, *args):
        self._log(ERROR, fmt, args)

    def exc(self, what, e):
        """An ERROR line for `what` and e's traceback, line by line, in the log (a crash's
        traceback is what a field engineer needs from `upile logs`), flushed at once."""
        import io
        import sys

        self._log(ERROR, "%s: %r", (what, e))
        buf = io.StringIO()
        sys.print_exception(e, buf)
        for line in buf.getvalue().split("\n"):
            if line:
                _emit(ERROR, self.tag, "| " + line)
        flush()


def get(tag):
    return Logger(tag)
