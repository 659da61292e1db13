"""The transaction queue: StartTransaction, StopTransaction and transaction MeterValues on
flash before they are sent, kept until answered, sent in order (OCPP 1.6 section 3.7).

One CRC journal (lib/journal.py), one text record per fact, durable when the call returns:
  S<seq> {json}   a StartTransaction to send (fields: see tx.py)
  M<seq> {json}   a MeterValues of a transaction
  X<seq> {json}   a StopTransaction
  A<seq>          <seq> was answered (CALLRESULT)
  F<seq> <n>      <seq> failed n times (CALLERROR or a bad answer): its next id and its wait
  D<seq>          <seq> discarded after TransactionMessageAttempts failures
  T<sid> <txid>   the CSMS's transactionId of the pile's session <sid> (-1: its Start was
                  discarded, later messages carry -1 as errata 3.18 says)
  P<seq> <unix>   the time given to <seq> when it was first sent without one (the clock was
                  unknown when it happened): a retransmission carries the same
Sequence numbers only grow (compaction keeps the newest message and its end), so message ids
derived from them ("T<seq>", "T<seq>.<failures>") never repeat, across power cuts too; a
retransmission after a timeout, a reconnect or a reboot keeps its id (OCPP-J errata 3.1).

RAM holds an index only (parallel arrays: seq, kind, session id, size), never the records:
the next ones are read from flash when they are due. The queue is bounded by `cap` live
bytes: sampled MeterValues are refused or dropped first, then new sessions are refused
(room()), Starts and Stops are never dropped. docs/ocpp.md "Transaction queue".
"""
import array
import json

import journal
from micropython import const

import log

_log = log.get("ocpp")
KS, KM, KX = const(83), const(77), const(88)  # ord("S"), ord("M"), ord("X")
ACTIONS = {KS: "StartTransaction", KM: "MeterValues", KX: "StopTransaction"}
S_MAX = const(256)  # bytes held back per open session for its Start...
X_MAX = const(384)  # ...and its Stop (a record is well under each)
_SLACK = const(8192)  # dead bytes allowed in the file before it is compacted
_SEP = (",", ":")


class TxQueue:
    def __init__(self, path, cap):
        self.path = path
        self.cap = cap
        self.q = array.array("I")  # seq, ascending
        self.k = bytearray()  # kind, 0 once answered or discarded
        self.s = array.array("I")  # pile session id
        self.n = array.array("H")  # record bytes
        self.first = 0  # index of the first entry that may be live
        self.live = 0  # bytes of live records
        self.fails = {}  # seq -> failures so far
        self.stamps = {}  # seq -> unix given at its first sending (records without a time)
        self.tx = {}  # sid -> transactionId (None until its Start is answered), until its Stop is done
        self.xq = set()  # sids whose Stop is queued
        self.discarded = set()  # sids whose Stop was discarded: their bills stay pending (docs/ocpp.md)
        self.next_seq = 1
        self.mv_dropped = 0  # MeterValues refused or dropped for room
        self._cache = []  # [(seq, dict)] of the next live records, read ahead from flash
        self.j = journal.Journal(path)
        self._load()
        if self.j.size() > self.live + _SLACK:
            self.compact()

    # ---- restore
    def _load(self):
        top = 0
        for raw in self.j.records():
            c = raw[0]
            if c in (KS, KM, KX):
                sp = raw.find(b" ")
                seq = int(raw[1:sp])
                sid = _sid(raw, sp)
                if sid is None:
                    continue
                self._add(seq, c, sid, len(raw))
                top = max(top, seq)
                if c == KS:
                    self.tx.setdefault(sid, None)
                elif c == KX:
                    self.xq.add(sid)
            elif c == 65 or c == 68:  # A, D
                self._end(int(raw[1:]), c == 68, False)
            elif c == 70 or c == 80:  # F, P
                a, b = raw[1:].split(b" ")
                (self.fails if c == 70 else self.stamps)[int(a)] = int(b)
            elif c == 84:  # T
                a, b = raw[1:].split(b" ")
                self.tx[int(a)] = int(b)
        self.next_seq = top + 1

    def _add(self, seq, kind, sid, size):
        self.q.append(seq)
        self.k.append(kind)
        self.s.append(sid)
        self.n.append(size)
        self.live += size

    def _index(self, seq):
        q = self.q
        lo, hi = self.first, len(q)
        while lo < hi:
            mid = (lo + hi) // 2
            if q[mid] < seq:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(q) and q[lo] == seq else -1

    # ---- enqueue (each durable when it returns)
    def _append(self, kind, fields):
        seq = self.next_seq
        self.next_seq += 1
        raw = b"%s%d %s" % (chr(kind), seq, json.dumps(fields, separators=_SEP))
        self.j.append(raw)
        self._add(seq, kind, fields["s"], len(raw))
        return seq

    def start(self, fields):
        """fields: s (session id), c (connector), t (idTag), m (meterStart Wh), ts (unix or
        None), b/ms (boot and ticks, to date it later), r (reservation id or None)."""
        self.tx[fields["s"]] = None
        return self._append(KS, fields)

    def stop(self, fields):
        """fields: s, m (meterStop Wh), ts, b/ms, r (reason), t (idTag or None), mb/tb (meter
        and time at the start, for transactionData)."""
        self.xq.add(fields["s"])
        self.tx.setdefault(fields["s"], None)
        return self._append(KX, fields)

    def meter(self, fields, open_sessions):
        """fields: s, c, ts, b/ms, x (context), v ([[measurand, value], ...]). Refused (False)
        when it would eat into the room held back for open sessions' Starts and Stops."""
        size = len(json.dumps(fields, separators=_SEP)) + 8
        if self.live + size + (open_sessions + 1) * (S_MAX + X_MAX) > self.cap:
            self.mv_dropped += 1
            return False
        self._append(KM, fields)
        return True

    def room(self, open_sessions):
        """Room for one more session (its Start and Stop) besides the open ones? Queued
        MeterValues are dropped, oldest first, to make it; False when even that is not enough."""
        need = (open_sessions + 1) * (S_MAX + X_MAX)
        i = self.first
        while self.live + need > self.cap:
            while i < len(self.q) and self.k[i] != KM:
                i += 1
            if i >= len(self.q):
                return False
            self.discard(self.q[i], "room for a session")
            self.mv_dropped += 1
        return True

    # ---- the CSMS's answers
    def set_txid(self, sid, txid):
        self.j.append(b"T%d %d" % (sid, txid))
        if sid in self.tx:
            self.tx[sid] = txid

    def done(self, seq):
        """seq answered (the Stop's bill is acked by the caller before this)."""
        self.j.append(b"A%d" % seq)
        self._end(seq, False, True)

    def failed(self, seq):
        """One more failure of seq (CALLERROR, bad answer); returns the count."""
        n = self.fails.get(seq, 0) + 1
        self.j.append(b"F%d %d" % (seq, n))
        self.fails[seq] = n
        return n

    def stamp(self, seq, unix):
        """The time `seq` goes out with, kept for its retransmissions."""
        self.j.append(b"P%d %d" % (seq, unix))
        self.stamps[seq] = unix

    def discard(self, seq, why):
        """Drop seq without an answer; a Start's session goes on as transactionId -1."""
        i = self._index(seq)
        if i < 0 or not self.k[i]:
            return
        kind, sid = self.k[i], self.s[i]
        _log.warn("discarded %s of session %d (seq %d): %s", ACTIONS[kind], sid, seq, why)
        if kind == KS:
            self.set_txid(sid, -1)
        self.j.append(b"D%d" % seq)
        self._end(seq, True, True)

    def _end(self, seq, discarded, now):
        i = self._index(seq)
        if i < 0 or not self.k[i]:
            return
        kind, sid = self.k[i], self.s[i]
        self.k[i] = 0
        self.live -= self.n[i]
        self.fails.pop(seq, None)
        self.stamps.pop(seq, None)
        self._cache = [c for c in self._cache if c[0] != seq]
        if kind == KX:
            self.tx.pop(sid, None)
            self.xq.discard(sid)
            if discarded:
                self.discarded.add(sid)
        while self.first < len(self.q) and not self.k[self.first]:
            self.first += 1
        if now:
            if self.first > 64 and self.first * 2 > len(self.q):
                self._shrink()
            if self.j.size() > self.live + _SLACK:
                self.compact()

    def _shrink(self):
        f = self.first
        self.q = self.q[f:]
        self.k = self.k[f:]
        self.s = self.s[f:]
        self.n = self.n[f:]
        self.first = 0

    # ---- what to send
    def head(self):
        """(seq, kind, sid) of the oldest live message, or None."""
        i = self.first
        if i < len(self.q) and self.k[i]:
            return self.q[i], self.k[i], self.s[i]
        return None

    def pending(self):
        return sum(1 for i in range(self.first, len(self.q)) if self.k[i])

    def record(self, seq):
        """The journalled fields of live message seq (read ahead a few from flash)."""
        for c in self._cache:
            if c[0] == seq:
                return c[1]
        want = set()
        for i in range(self.first, len(self.q)):
            if self.k[i]:
                want.add(self.q[i])
                if len(want) >= 4:
                    break
        self._cache = []
        for raw in self.j.records():
            if raw[0] in (KS, KM, KX):
                sp = raw.find(b" ")
                q = int(raw[1:sp])
                if q in want:
                    self._cache.append((q, json.loads(raw[sp + 1 :])))
                    want.discard(q)
                    if not want:
                        break
        for c in self._cache:
            if c[0] == seq:
                return c[1]
        raise KeyError(seq)

    def msgid(self, seq):
        n = self.fails.get(seq, 0)
        return "T%d" % seq if not n else "T%d.%d" % (seq, n)

    def txid_of(self, sid):
        return self.tx.get(sid)

    # ---- compaction
    def compact(self):
        """Rewrite the journal with what a restore needs: live messages with their failure
        counts, the transactionIds of sessions not yet stopped, the discard marks of pending
        bills, and the newest message with its end (sequence numbers never repeat)."""
        top = self.next_seq - 1
        live = set(self.q[i] for i in range(self.first, len(self.q)) if self.k[i])
        tx, disc = self.tx, self.discarded
        xs = {}  # seq -> sid of discarded stops still remembered
        for i in range(len(self.q)):
            if self.s[i] in disc and not self.k[i]:
                xs[self.q[i]] = self.s[i]

        def keep(raw):
            c = raw[0]
            if c in (KS, KM, KX):
                q = int(raw[1 : raw.find(b" ")])
                return q in live or q == top or q in xs
            if c == 65 or c == 68:
                q = int(raw[1:])
                return q == top or (c == 68 and q in xs)
            if c == 70 or c == 80:
                return int(raw[1:].split(b" ")[0]) in live
            if c == 84:
                return int(raw[1:].split(b" ")[0]) in tx
            return False

        self._cache = []
        self.j.compact(keep)


def _sid(raw, sp):
    """The session id of a message record without decoding all of it."""
    i = raw.find(b'"s":', sp)
    if i < 0:
        return None
    i += 4
    j = i
    while j < len(raw) and 48 <= raw[j] <= 57:
        j += 1
    return int(raw[i:j]) if j > i else None
