"""The 3x4 keypad: choosing a port, typing a start code, starting on coins.

  <port digits> #          choose a port (1..N): "tap a card, enter a code or insert coins"
  then  <6 digits> #       start with a one-time code (code.py checks it)
  or    #                  start with the coins inserted (the whole credit)
  or    <port digits> #    choose another port
  or    a card tap         start / stop (cards.py)
  *                        clear what was typed / forget the chosen port
A chosen port is forgotten after 20 s and once used. Wrong input (a port that does not exist,
a code of the wrong length) is refused with a prompt and nothing else happens. A key held
down is one press (keys() reports it at every poll until released).
"""
import time


class Keypad:
    def __init__(self, cfg, front, clock=time.ticks_ms, hold_ms=20000):
        self.front = front  # select(port), code(port, code), coin_start(port), show_entry(text)
        self.n = cfg["pile"]["ports"]
        self.hold_ms = hold_ms
        self.clock = clock
        self.buf = ""
        self.port = None
        self._until = 0
        self._held = ""
        self.presses = 0

    def selected(self, now=None):
        """The chosen port, or None once it expired."""
        now = self.clock() if now is None else now
        if self.port is not None and time.ticks_diff(now, self._until) >= 0:
            self.port = None
            self.buf = ""
            self._show()
        return self.port

    def forget(self):
        self.port = None
        self.buf = ""
        self._show()

    def _show(self):
        if self.port is None:
            self.front.show_entry("P" + self.buf if self.buf else None)
        else:
            self.front.show_entry("P%02d %s" % (self.port, self.buf) if self.buf else "P%02d -" % self.port)

    def feed(self, keys, now=None):
        """The keys down at this poll: each newly pressed one is handled."""
        now = self.clock() if now is None else now
        for k in keys:
            if k not in self._held:
                self.key(k, now)
        self._held = keys

    def key(self, k, now=None):
        now = self.clock() if now is None else now
        self.presses += 1
        self.selected(now)
        if self.port is not None:
            self._until = time.ticks_add(now, self.hold_ms)
        if k == "*":
            if self.buf:
                self.buf = ""
            else:
                self.port = None
        elif k == "#":
            self._enter(now)
            return
        elif len(self.buf) < 8:
            self.buf += k
        self._show()

    def _enter(self, now):
        buf, self.buf = self.buf, ""
        if self.port is None:
            if buf and len(buf) <= 2 and 1 <= int(buf) <= self.n:
                self.port = int(buf)
                self._until = time.ticks_add(now, self.hold_ms)
                self._show()
                self.front.select(self.port)
            else:
                self._show()
                self.front.bad_input()
            return
        port = self.port
        if not buf:
            self.port = None
            self._show()
            self.front.coin_start(port)
        elif len(buf) == 6:
            self.port = None
            self._show()
            self.front.code(port, buf)
        elif len(buf) <= 2 and 1 <= int(buf) <= self.n:
            self.port = int(buf)  # another port chosen instead
            self._until = time.ticks_add(now, self.hold_ms)
            self._show()
            self.front.select(self.port)
        else:
            self._show()
            self.front.bad_input()
