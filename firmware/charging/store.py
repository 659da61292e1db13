"""Sessions and bills in the CRC journal, so billing survives power cuts and reboots.

Records: start (JSON, durable before the relay closes), checkpoint (b"C" + struct, every
checkpoint_s, batched into one flash commit), stop = the bill (JSON, durable), ack (JSON,
the back end has the bill). A bill stays pending until acked; compaction keeps only
what restore needs (open sessions' start + newest checkpoint, pending bills, and the
record that carries the highest session id, so ids never repeat).
"""
import json
import journal

_MAX_PENDING_LIST = 50


class Store:
    def __init__(self, path, compact_bytes=16384):
        self.j = journal.Journal(path)
        self.compact_bytes = compact_bytes
        self.open = {}  # sid -> [start dict, newest checkpoint bytes or None]
        self.pending = set()  # sids of bills not yet acked
        self.next_id = 1
        self._load()

    def _load(self):
        top = 0
        for rec in self.j.records():
            if rec[:1] == b"C":
                sid = int.from_bytes(rec[1:5], "little")
                if sid in self.open:
                    self.open[sid][1] = bytes(rec[1:])
                continue
            try:
                d = json.loads(rec)
                k, sid = d["k"], d["id"]
            except (ValueError, KeyError, TypeError):
                continue  # a record we do not know: keep going, never crash the restore
            top = max(top, sid)
            if k == "s":
                self.open[sid] = [d, None]
            elif k == "x":
                self.open.pop(sid, None)
                self.pending.add(sid)
            elif k == "a":
                self.pending.discard(sid)
        self.next_id = top + 1

    def new_id(self):
        sid = self.next_id
        self.next_id += 1
        return sid

    def start(self, rec):
        self.j.append(json.dumps(rec))
        self.open[rec["id"]] = [rec, None]

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

        def keep(rec):
            if rec[:1] == b"C":
                sid = int.from_bytes(rec[1:5], "little")
                return newest.get(sid) == bytes(rec[1:])
            try:
                d = json.loads(rec)
            except ValueError:
                return False
            k, sid = d.get("k"), d.get("id")
            if k == "s":
                return sid in self.open
            if k == "x":
                return sid in self.pending
            return k == "a" and keep_top and sid == top

        self.j.compact(keep)
