"""The one start-request interface of the front: a card tap, a code, coins (and any other
start the front makes) become station calls with their start method, and every refusal
becomes a spoken and shown reason. Back-end starts (QR code + app payment) do not pass
here: the protocol calls station.start(..., method="remote") itself, and the front hears
of them on the bus (session.started) like of every other start.

Talks to the pile only through the command interface (firmware/station.py), like a
protocol; tells the user through the bus (front.say events the voice and display take).
"""
from firmware.station import Refused

METHODS = ("card", "code", "coin", "remote")


class Starts:
    def __init__(self, station, bus, blocking=None):
        self.station = station
        self.bus = bus
        self.blocking = blocking  # fn() -> name of a stopping alarm in force, or None
        self.refused = 0

    def say(self, key, port=None, fen=None, minutes=None, why=None, urgent=False):
        self.bus.publish("front.say", {"key": key, "port": port, "fen": fen, "min": minutes, "why": why,
                                       "urgent": urgent})

    def refuse(self, port, why):
        self.refused += 1
        self.say("refused", port, why=why)

    def start(self, port, method, id_tag=None, kind="full", amount=0, ref=None):
        """Start a session; its id. Refused (after telling the user why) otherwise."""
        if method not in METHODS:
            raise ValueError("start method %r" % method)
        alarm = self.blocking() if self.blocking is not None else None
        if alarm is not None:
            self.refuse(port, "alarm")
            raise Refused("alarm", alarm)
        try:
            return self.station.start(port, kind, amount, id_tag, method, None, ref)
        except Refused as e:
            self.refuse(port, e.code)
            raise

    def stop(self, port, cause):
        """Stop a port's session at the pile (reason Local); its bill."""
        return self.station.stop(port, "Local", cause)

    def session_of(self, id_tag):
        """(port, info) of the session this id tag runs, or None."""
        for n in range(1, self.station.ports() + 1):
            info = self.station.port(n)
            if info.get("id") is not None and info.get("id_tag") == id_tag:
                return n, info
        return None
