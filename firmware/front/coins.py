"""Coins: a pulse-output coin acceptor (each coin N pulses, N = its value in
front.coin_fen units) counted in hardware (a PCNT unit, machine.Counter, behind its
glitch filter), turned into a credit in fen that a start on a chosen port spends as a
money budget under the tariff.

Money is never lost on a power cut, nor spent twice: every change of the credit is
journalled (durable) before it takes effect. Coins in: "+ fen credit". A start first
reserves the whole credit ("R fen token"), starts the session with id tag coin-<token>,
then records it ("S token session"); a refused start gives it back ("+ fen credit"). A
power cut between R and S is settled at the next boot by looking for a session with that
id tag (running, or among the pending bills): found, the credit was spent; not found, it
comes back. What the acceptor counted but the poll had not read yet when the power went
(one poll period) is the only window; the acceptor itself keeps nothing either.
"""
import os

from journal import Journal

_KEEP = 4096


class Coins:
    def __init__(self, cfg, counter, path="/data/front/coins.jnl"):
        self.per = cfg["front"]["coin_fen"]
        self.counter = counter
        self.j = Journal(path, 64)
        self.credit = 0
        self.open = None  # (fen, token) of a reservation a power cut left unsettled
        for rec in self.j.records():
            w = rec.decode().split()
            k = w[0]
            if k == "+":
                self.credit = int(w[2])
                self.open = None
            elif k == "R":
                self.credit = 0
                self.open = (int(w[1]), w[2])
            elif k == "S":
                self.open = None
            elif k == "=":
                self.credit = int(w[1])
        self.seen = counter.value() if counter is not None else 0
        self.pulses = 0

    def settle_boot(self, station):
        """A reservation left open by a power cut: spent if its session exists, else back."""
        if self.open is None or station.pile is None:
            return None  # without charging nothing can be looked up: it stays open till then
        fen, token = self.open
        tag = "coin-" + token
        sid = None
        for n in range(1, station.ports() + 1):
            info = station.port(n)
            if info.get("id_tag") == tag:
                sid = info["id"]
        if sid is None:
            for b in station.each_pending_bill():
                if b.get("id_tag") == tag:
                    sid = b["id"]
        if sid is not None:
            self.j.append("S %s %d" % (token, sid))
        else:
            self.j.append("+ %d %d" % (fen, self.credit + fen))
            self.credit += fen
        self.open = None
        return sid

    def poll(self):
        """New pulses since the last poll: journalled, then credited. Returns fen added."""
        if self.counter is None:
            return 0
        v = self.counter.value()
        n = v - self.seen
        if n <= 0:
            return 0
        fen = n * self.per
        self.j.append("+ %d %d" % (fen, self.credit + fen))  # durable first
        self.seen = v
        self.pulses += n
        self.credit += fen
        return fen

    def reserve(self):
        """Take the whole credit for a start: (fen, id tag), journalled first."""
        fen = self.credit
        token = "%08x" % int.from_bytes(os.urandom(4), "little")
        self.j.append("R %d %s" % (fen, token))
        self.credit = 0
        return fen, "coin-" + token

    def started(self, tag, sid):
        self.j.append("S %s %d" % (tag[5:], sid))
        if self.j.size() > _KEEP:
            # the credit first, then only that record kept: a cut in between loses nothing
            self.j.append("= %d" % self.credit)
            last, seen = self.j.count, [0]

            def keep(rec):
                seen[0] += 1
                return seen[0] == last

            self.j.compact(keep)

    def refund(self, fen):
        """The start was refused: the reserved credit comes back (journalled)."""
        self.j.append("+ %d %d" % (fen, self.credit + fen))
        self.credit += fen
