"""Pile events to several subscribers: the pile takes one on_event callback, and the service
port (now) and the backend protocol (later) each want every event."""
import log

_log = log.get("events")


class Hub:
    def __init__(self):
        self.subs = []

    def subscribe(self, fn):
        """fn(kind, port, detail); called in the control loop, so it must not block."""
        self.subs.append(fn)

    def __call__(self, kind, port, detail):
        for fn in self.subs:
            try:
                fn(kind, port, detail)
            except Exception as e:  # one subscriber's bug must not starve the others
                _log.error("subscriber failed on %s: %r", kind, e)
