"""M1 cards (MIFARE Classic, 4-byte UID): what a tap means.

- With a port chosen on the keypad: the port's session is this card's -> stop it; the port
  is free -> start, if the card is authorised; another card's session -> refused.
- Without a port: a balance query (charges nothing): the balance, and the port this card
  charges on.
- A card left on the reader, or tapped again within 3 s, is one tap.
Authorisation: the local list (/data/front/cards.txt, one line per card "UID KIND AMOUNT [BALANCE
LASTSESSION]", streamed, never loaded whole), or with front.card_check "backend" the back end:
the front publishes card.ask {req, id_tag, port, purpose} and a protocol answers with
station.card_answer(req, accepted, kind, amount, balance, reason); no answer within 5 s
(offline) and the local list decides. A card with a BALANCE in the list is
a prepaid card: its start is a money budget of the balance, and each of its bills is
debited once (LASTSESSION, so a bill seen again after a power cut is not debited twice).
"""
import asyncio
import os
import time

import log
from firmware.station import Refused

_log = log.get("card")


def uid_hex(uid):
    return "".join("%02X" % b for b in uid)


class Cards:
    def __init__(self, cfg, starts, bus, clock=time.ticks_ms, path="/data/front/cards.txt", repeat_ms=3000,
                 answer_ms=5000):
        self.check = cfg["front"]["card_check"]
        self.repeat_ms = repeat_ms  # the same card again within this: one tap
        self.answer_ms = answer_ms  # how long a back end may take to answer
        self.path = path
        self.starts = starts
        self.bus = bus
        self.clock = clock
        self.fee = cfg["tariff"]["start_fee_fen"]
        self.last = None  # (uid, ticks last seen)
        self.taps = 0
        self.repeats = 0
        self._req = 0
        self._answers = {}
        self._answered = asyncio.Event()

    # ---- the local list
    def lookup(self, tag):
        """[uid, kind, amount, balance or None, lastsid] from the list, or None."""
        try:
            f = open(self.path)
        except OSError:
            return None
        with f:
            for line in f:
                w = line.split()
                if len(w) >= 3 and w[0] == tag:
                    try:
                        return [w[0], w[1], int(w[2]), int(w[3]) if len(w) > 3 else None,
                                int(w[4]) if len(w) > 4 else 0]
                    except ValueError:
                        _log.warn("card list: bad line for %s", tag)
                        return None
        return None

    def _rewrite(self, tag, entry):
        """Replace (or add) tag's line: streamed into a new file, renamed over the old."""
        tmp = self.path + ".tmp"
        done = False
        with open(tmp, "w") as out:
            try:
                f = open(self.path)
            except OSError:
                f = None
            if f is not None:
                with f:
                    for line in f:
                        w = line.split()
                        if w and w[0] == tag:
                            if entry is not None and not done:
                                out.write(" ".join(str(x) for x in entry) + "\n")
                            done = True
                        else:
                            out.write(line if line.endswith("\n") else line + "\n")
            if entry is not None and not done:
                out.write(" ".join(str(x) for x in entry) + "\n")
        os.rename(tmp, self.path)

    def set_card(self, tag, kind, amount, balance=None):
        """A back end (or the service port) adds or changes a card in the local list."""
        old = self.lookup(tag)
        self._rewrite(tag, [tag, kind, amount] + ([] if balance is None else [balance, old[4] if old else 0]))

    def debit(self, bill):
        """A bill of a prepaid card: its fen off the balance, once per session."""
        tag = bill.get("id_tag")
        if bill.get("method") != "card" or not tag:
            return False
        e = self.lookup(tag)
        if e is None or e[3] is None or bill["id"] <= e[4]:
            return False
        e[3] = max(0, e[3] - (bill.get("fen") or 0))
        e[4] = bill["id"]
        self._rewrite(tag, e)
        return True

    # ---- the back end's answer (station.card_answer)
    def answer(self, req, accepted, kind=None, amount=0, balance=None, reason=None):
        if req not in self._answers:
            return False
        self._answers[req] = (bool(accepted), kind, amount, balance, reason)
        self._answered.set()
        return True

    async def _ask(self, tag, port, purpose):
        self._req += 1
        req = self._req
        self._answers[req] = None
        self.bus.publish("card.ask", {"req": req, "id_tag": tag, "port": port, "purpose": purpose})
        t0 = time.ticks_ms()
        try:
            while self._answers[req] is None:
                left = self.answer_ms - time.ticks_diff(time.ticks_ms(), t0)
                if left <= 0:
                    return None
                self._answered.clear()
                try:
                    await asyncio.wait_for_ms(self._answered.wait(), left)
                except asyncio.TimeoutError:
                    return None
            return self._answers[req]
        finally:
            del self._answers[req]

    async def _authorise(self, tag, port, purpose):
        """(accepted, kind, amount, balance, reason)."""
        if self.check == "backend":
            self.starts.say("card_wait", port)
            a = await self._ask(tag, port, purpose)
            if a is not None:
                return a
            _log.info("card %s: no answer from the back end, local list decides", tag)
        e = self.lookup(tag)
        if e is None:
            return False, None, 0, None, "unknown_card"
        kind, amount, bal = e[1], e[2], e[3]
        if bal is not None:
            if bal <= self.fee:
                return False, None, 0, bal, "no_balance"
            kind, amount = "money", bal if kind != "money" or not amount else min(bal, amount)
        if kind == "full":
            amount = 0
        return True, kind, amount, bal, None

    # ---- a tap
    def repeat(self, uid, now):
        """True when this read is the same card still there / tapped again too soon."""
        last = self.last
        self.last = (uid, now)
        return last is not None and last[0] == uid and time.ticks_diff(now, last[1]) < self.repeat_ms

    async def tap(self, uid, port):
        """A card was read; port chosen on the keypad or None. Returns what it did:
        'repeat', 'unsupported', 'balance', 'stopped', 'started', 'refused'."""
        now = self.clock()
        if self.repeat(uid, now):
            self.repeats += 1
            return "repeat"
        self.taps += 1
        if len(uid) != 4:
            self.starts.say("refused", port, why="unsupported_card")
            return "unsupported"
        tag = uid_hex(uid)
        st = self.starts
        if port is None:
            ok, kind, amount, bal, why = await self._authorise(tag, None, "balance")
            if not ok and why == "unknown_card":
                st.say("refused", None, why=why)
                return "refused"
            st.say("balance", None, fen=bal or 0)
            mine = st.session_of(tag)
            if mine is not None:
                st.say("card_busy", mine[0])
            return "balance"
        try:
            info = st.station.port(port)
        except Refused as e:
            st.refuse(port, e.code)
            return "refused"
        if info.get("id") is not None:
            if info.get("id_tag") != tag:
                st.refuse(port, "not_your_session")
                return "refused"
            st.stop(port, "card")
            return "stopped"
        ok, kind, amount, bal, why = await self._authorise(tag, port, "start")
        if not ok:
            st.refuse(port, why or "card_refused")
            return "refused"
        st.say("card_ok", port)
        try:
            st.start(port, "card", tag, kind or "full", amount if kind else 0)
        except Refused:
            return "refused"
        return "started"
