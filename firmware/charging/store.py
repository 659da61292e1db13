"""Sessions and bills in the CRC journal, so billing survives power cuts and reboots.

Records: start (JSON, durable before the relay closes), checkpoint (b"C" + struct, every
checkpoint_s, batched into one flash commit), energy registers (b"R" + one u64 mWh per
port, with the checkpoints), stop = the bill (JSON, durable), ack (JSON, the back end has
the bill). A bill stays pending until acked; compaction keeps only what restore needs
(open sessions' start + newest checkpoint, pending bills, the newest registers, and the
record that carries the highest session id, so ids never repeat). A budget change of a
running session is its own record (JSON "m"), kept with the session's start.

The registers are each port's meter reading as a back end sees it (OCPP meterStart and
meterStop): they only grow, across power cuts too (the metering ICs restart from zero).
Restored as the newest "R" record, raised by any later start or bill that recorded more.
"""
import json
import struct

import journal

_MAX_PENDING_LIST = 50


class Store:
    def __init__(self, path, compact_bytes=16384):
        self.j = journal.Journal(path)
        self.compact_bytes = compact_bytes
        self.open = {}  # sid -> [start dict, newest checkpoint bytes or None]
        self.pending = set()  # sids of bills not yet acked
        self.next_id = 1
        self.regs = []  # port index -> energy register (mWh) as restored
        self._last_regs = None  # the newest "R" record (compaction keeps only it)
        self.disabled = []  # ports made Unavailable by command (OCPP: persists reboots)
        self._avail = None  # its newest record's id, as compaction keeps it
        self._load()

    def _reg(self, port, mwh):
        if type(port) is not int or not 1 <= port <= 64 or type(mwh) is not int:
            return
        r = self.regs
        while len(r) < port:
            r.append(0)
        if mwh > r[port - 1]:
            r[port - 1] = mwh

    def _load(self):
        top = 0
        for rec in self.j.records():
            tag = rec[:1]
            if tag == b"C":
                sid = int.from_bytes(rec[1:5], "little")
                if sid in self.open:
                    self.open[sid][1] = bytes(rec[1:])
                continue
            if tag == b"R":
                self._last_regs = bytes(rec)
                for i in range((len(rec) - 1) // 8):
                    self._reg(i + 1, struct.unpack_from("<Q", rec, 1 + 8 * i)[0])
                continue
            try:
                d = json.loads(rec)
                k = d["k"]
                if k == "u":  # availability: its own counter, not a session id
                    self.disabled = [n for n in d["d"] if type(n) is int]
                    self._avail = d["n"]
                    continue
                sid = d["id"]
                if type(sid) is not int:
                    continue
            except (ValueError, KeyError, TypeError):
                continue  # a record we do not know: keep going, never crash the restore
            top = max(top, sid)
            if k == "s":
                self.open[sid] = [d, None]
                self._reg(d.get("p"), d.get("ms"))
            elif k == "m":
                if sid in self.open:  # the budget changed while it ran: restore resumes with the new one
                    self.open[sid][0]["b"], self.open[sid][0]["a"] = d.get("b"), d.get("a")
            elif k == "x":
                self.open.pop(sid, None)
                self.pending.add(sid)
                if type(d.get("ms")) is int and type(d.get("mwh")) is int:
                    self._reg(d.get("p"), d["ms"] + d["mwh"])
            elif k == "a":
                self.pending.discard(sid)
        self.next_id = top + 1

    def save_disabled(self, ports):
        """The ports made Unavailable by command, durable (they stay so after a reboot)."""
        if ports == self.disabled:
            return
        self._avail = (self._avail or 0) + 1
        self.j.append(json.dumps({"k": "u", "n": self._avail, "d": ports}))
        self.disabled = list(ports)

    def registers(self, n):
        """The n ports' energy registers (mWh) as restored."""
        r = self.regs
        return [r[i] if i < len(r) else 0 for i in range(n)]

    def save_registers(self, regs):
        """Batched like a checkpoint: sync() makes it durable."""
        rec = bytearray(1 + 8 * len(regs))
        rec[0] = 82  # "R"
        for i, v in enumerate(regs):
            struct.pack_into("<Q", rec, 1 + 8 * i, v)
        self.j.append(rec, False)
        self._last_regs = bytes(rec)

    def new_id(self):
        sid = self.next_id
        self.next_id += 1
        return sid

    def start(self, rec):
        self.j.append(json.dumps(rec))
        self.open[rec["id"]] = [rec, None]

    def modify(self, sid, kind, amount):
        """A running session's new budget, durable before it applies."""
        self.j.append(json.dumps({"k": "m", "id": sid, "b": kind, "a": amount}))
        if sid in self.open:
            self.open[sid][0]["b"], self.open[sid][0]["a"] = kind, amount

    def checkpoint(self, sid, data):
        """Batched: call sync() after a round of checkpoints."""
        self.j.append(data, False)
        if sid in self.open:
            self.open[sid][1] = data[1:]

    def sync(self):
        self.j.sync()

    def stop(self, bill):
        self.j.append(json.dumps(bill))
        self.open.pop(bill["id"], None)
        self.pending.add(bill["id"])
        self.maybe_compact()

    def ack(self, sid):
        """Mark a bill as received by the back end; False if it is not pending."""
        if sid not in self.pending:
            return False
        self.j.append(json.dumps({"k": "a", "id": sid}))
        self.pending.discard(sid)
        self.maybe_compact()
        return True

    def each_bill(self):
        """Every pending bill, oldest first, one at a time from flash (a pile offline for
        weeks can hold hundreds: never all in RAM). A caller that stops early must close()
        the generator: that closes the journal file now, not in a garbage collection."""
        if not self.pending:
            return
        recs = self.j.records()
        try:
            for rec in recs:
                if rec[:1] != b"{":
                    continue
                d = json.loads(rec)
                if d["k"] == "x" and d["id"] in self.pending:
                    yield d
        finally:
            recs.close()

    def bills(self, limit=_MAX_PENDING_LIST):
        """Pending bills, oldest first, at most `limit`."""
        out = []
        it = self.each_bill()
        try:
            for d in it:
                out.append(d)
                if len(out) >= limit:
                    break
        finally:
            it.close()
        return out

    def maybe_compact(self):
        if self.j.size() < self.compact_bytes:
            return False
        self.compact()
        return True

    def compact(self):
        top = self.next_id - 1
        keep_top = top not in self.open and top not in self.pending
        newest = {sid: ck for sid, (_, ck) in self.open.items()}
        regs = self._last_regs

        def keep(rec):
            if rec[:1] == b"R":  # the newest registers only
                return bytes(rec) == regs
            if rec[:1] == b"C":
                sid = int.from_bytes(rec[1:5], "little")
                return newest.get(sid) == bytes(rec[1:])
            try:
                d = json.loads(rec)
            except ValueError:
                return False
            k, sid = d.get("k"), d.get("id")
            if k == "u":
                return d.get("n") == self._avail
            if k == "s" or k == "m":  # a running session's start and its budget changes, in order
                return sid in self.open
            if k == "x":
                return sid in self.pending
            return k == "a" and keep_top and sid == top

        self.j.compact(keep)
