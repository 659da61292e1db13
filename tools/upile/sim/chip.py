"""The chip: a `micropython -i chip/_start.py` process whose controlling terminal is a pty.

A controlling tty makes Ctrl-C raise KeyboardInterrupt in main.py (as on a board), and
`-i` leaves the REPL when main.py ends. The tty is set so that the Unix port's output is
not translated (the console bridge cooks \\n to \\r\\n like the ESP32's) and input is not
echoed. PR_SET_PDEATHSIG makes the chip die with the harness's I/O thread, so a crashed
test run leaves no micropython behind.
"""
import ctypes
import ctypes.util
import fcntl
import os
import pty
import signal
import subprocess
import termios

from upile import paths

ROOT = paths.ROOT
CHIP_DIR = ROOT / "chip"
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_prctl = _libc.prctl


def _child_setup():
    # runs in the forked child before exec: new session, pty as controlling tty, die with parent
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _tty_mode(fd):
    a = termios.tcgetattr(fd)
    a[0] &= ~(termios.ICRNL | termios.INLCR | termios.IGNCR | termios.IXON | termios.IXOFF)
    a[1] &= ~termios.OPOST
    a[3] &= ~(termios.ECHO | termios.ECHOE | termios.ECHOK | termios.ECHONL | termios.ECHOCTL | termios.ICANON
              | termios.IEXTEN)
    a[3] |= termios.ISIG | termios.NOFLSH  # Ctrl-C must still reach the chip as SIGINT -> KeyboardInterrupt
    a[6][termios.VMIN] = 1
    a[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, a)


class ChipProcess:
    def __init__(self, micropython, env, heap="1M", cwd=None):
        self.master, slave = pty.openpty()
        _tty_mode(slave)
        try:
            self.proc = subprocess.Popen(
                [micropython, "-X", "heapsize=" + heap, "-i", str(CHIP_DIR / "_start.py")],
                stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, close_fds=True,
                preexec_fn=_child_setup)
        finally:
            os.close(slave)
        os.set_blocking(self.master, False)
        self.pid = self.proc.pid
        self.expected_exit = False

    def exited(self):
        return self.proc.poll() is not None

    def kill(self):
        """Power off at this instant: SIGKILL, reap, close the pty."""
        self.expected_exit = True
        if self.proc.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.master is not None:
            try:
                os.close(self.master)
            except OSError:
                pass
            self.master = None
