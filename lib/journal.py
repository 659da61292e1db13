"""Append-only record journal with CRC-framed records, safe against power cuts.

Record: length u16 LE | crc32 u32 LE (over the two length bytes, then the payload) | payload.
Opening a journal scans it once with a small buffer. A torn tail (the only damage a power
cut can do to an append-only file) is cut off. A record whose length is plausible but whose
CRC fails (bit rot, a tool) is skipped and scanning goes on after it; an impossible length
ends the scan. Whenever something was cut, the intact records are rewritten into a new file
that replaces the old one atomically; if the damage was more than a torn tail, the original
bytes are kept as `<path>.bad` (one generation) so nothing is silently lost.
`records()` streams: memory use is one record, never the whole file.
"""
import os
import struct
from binascii import crc32
from micropython import const

_HDR = "<HI"
_HDR_LEN = const(6)
MAX_RECORD = const(4096)
_LIMIT = const(65535)  # the u16 length field

# damage reason codes (Journal.damage after open)
TORN_TAIL = "torn_tail"  # an append was cut short: only the unfinished record is lost
CORRUPT = "corrupt"  # bad CRC or garbage: original kept as <path>.bad


class JournalError(Exception):
    """Bad use: a record too large or empty, or a bad max_record (args[0] says which)."""


def _crc(hdr, payload):
    return crc32(payload, crc32(hdr[:2]))


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


class Journal:
    """One journal file.

    After open: `count` intact records, `dropped` bytes cut, `damage` None, TORN_TAIL or
    CORRUPT. `append(rec)` is durable when it returns; `append(rec, sync=False)` batches and
    `sync()` makes the batch durable (one flash commit for many records: less wear).
    """

    def __init__(self, path, max_record=MAX_RECORD):
        if not 0 < max_record <= _LIMIT:
            raise JournalError("max_record %d outside 1..%d" % (max_record, _LIMIT))
        self.path = path
        self.max_record = max_record
        self._hdr = bytearray(_HDR_LEN)
        self._f = None
        self._pending = False
        self._recover()

    def _recover(self):
        """Finish or undo an interrupted rewrite, then cut any damage. Sets count/dropped/damage."""
        self.close()
        tmp = self.path + ".tmp"
        if _exists(tmp):
            if _exists(self.path):
                os.remove(tmp)  # an unfinished compaction/repair: the original still stands
            else:
                os.rename(tmp, self.path)  # cut between "keep .bad" and "install the repair"
        n = kept = 0
        for rec in self._iter():
            n += 1
            kept += _HDR_LEN + len(rec)
        size = self.size()
        self.count = n
        self.dropped = size - kept
        self.damage = None
        if self.dropped:
            self.damage = CORRUPT if self._bad or self._end < size - self._tail else TORN_TAIL
            self._rewrite(None, self.damage == CORRUPT)

    def _iter(self):
        """Walk intact records in order (each payload a new bytes of at most max_record).

        Leaves _bad (records skipped for CRC), _end (where the scan stopped) and _tail (size of
        an unfinished last record, 0 if none) for _recover.
        """
        self._bad = self._end = self._tail = 0
        try:
            f = open(self.path, "rb")
        except OSError:
            return
        hdr = bytearray(_HDR_LEN)  # not self._hdr: append() may run while we iterate
        pos = 0
        with f:
            while True:
                k = f.readinto(hdr)
                if k != _HDR_LEN:
                    self._tail = k or 0
                    break
                n, crc = struct.unpack(_HDR, hdr)
                if n == 0 or n > self.max_record:
                    break  # not a record boundary: cannot resynchronise
                payload = f.read(n)
                if len(payload) != n:
                    self._tail = _HDR_LEN + len(payload)
                    break
                pos += _HDR_LEN + n
                self._end = pos
                if _crc(hdr, payload) != crc:
                    self._bad += 1
                    continue
                yield payload
        self._end = pos

    def _rewrite(self, keep, keep_bad=False):
        """Write the intact records (those keep() accepts) to .tmp, then rename it over the journal."""
        self.close()
        tmp = self.path + ".tmp"
        hdr = bytearray(_HDR_LEN)
        n = 0
        with open(tmp, "wb") as out:
            for rec in self._iter():
                if keep is None or keep(rec):
                    struct.pack_into("<H", hdr, 0, len(rec))
                    struct.pack_into("<I", hdr, 2, _crc(hdr, rec))
                    out.write(hdr)
                    out.write(rec)
                    n += 1
            out.flush()
        if keep_bad and _exists(self.path):
            os.rename(self.path, self.path + ".bad")
        os.rename(tmp, self.path)
        return n

    def records(self):
        """Yield each intact record's payload (bytes), oldest first. Syncs pending appends first."""
        self.close()
        return self._iter()

    def append(self, payload, sync=True):
        """Append one record; durable when this returns unless sync=False (then call sync())."""
        if isinstance(payload, str):
            payload = payload.encode()
        n = len(payload)
        if n == 0 or n > self.max_record:
            raise JournalError("record of %d bytes (allowed 1..%d)" % (n, self.max_record))
        hdr = self._hdr
        struct.pack_into("<H", hdr, 0, n)
        struct.pack_into("<I", hdr, 2, _crc(hdr, payload))
        try:
            if self._f is None:
                self._f = open(self.path, "ab")
            self._f.write(hdr)
            self._f.write(payload)
            self._pending = True
            if sync:
                self.sync()
        except OSError:
            # flash full or failing: a half-written record may have reached the file, so scan
            # and cut it now rather than append the next record after it
            self._drop_handle()
            self._recover()
            raise
        self.count += 1

    def sync(self):
        """Make every record appended so far durable."""
        if self._f is not None and self._pending:
            self._f.flush()
            self._pending = False

    def _drop_handle(self):
        f, self._f = self._f, None
        self._pending = False
        if f is not None:
            try:
                f.close()
            except OSError:
                pass

    def close(self):
        """Sync and close the file (it reopens on the next append)."""
        if self._f is not None:
            self.sync()
            self._f.close()
            self._f = None

    def compact(self, keep):
        """Rewrite the journal keeping records for which keep(payload) is true; atomic.

        A power cut leaves either the old or the compacted journal. Returns the new count.
        """
        self.count = self._rewrite(keep)
        return self.count

    def size(self):
        try:
            return os.stat(self.path)[6]
        except OSError:
            return 0
