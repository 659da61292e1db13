"""Append-only record journal with CRC-framed records, safe against power cuts.

Record: length u16 | crc32 u32 (over the length bytes and the payload) | payload.
Opening a journal scans it once with a small buffer; a torn or corrupt tail (the only
damage a power cut can do to an append-only file) is cut off by rewriting the good
prefix into a new file that replaces the old one atomically. `records()` streams:
memory use is one record, never the whole file.
"""
import os
import struct
from binascii import crc32
from micropython import const

_HDR = "<HI"
_HDR_LEN = const(6)
MAX_RECORD = const(4096)
_COPY = const(512)


class JournalError(Exception):
    """Bad use: a record too large or empty (args[0] says which)."""


def _crc(hdr, payload):
    return crc32(payload, crc32(hdr[:2]))


class Journal:
    """One journal file. `count` records survived the last open; `dropped` bytes were cut."""

    def __init__(self, path, max_record=MAX_RECORD):
        self.path = path
        self.max_record = max_record
        self._hdr = bytearray(_HDR_LEN)
        self._f = None
        self.count, self.dropped = self._recover()

    def _scan(self):
        """Return (records, good_length, file_length) without loading the file."""
        try:
            size = os.stat(self.path)[6]
        except OSError:
            return 0, 0, 0
        n = 0
        for _ in self._iter():
            n += 1
        return n, self._last_good, size

    def _recover(self):
        tmp = self.path + ".tmp"
        try:
            os.remove(tmp)
        except OSError:
            pass
        n, good, size = self._scan()
        if good < size:
            self._rewrite_prefix(good)
        return n, size - good

    def _rewrite_prefix(self, good):
        """Keep the first `good` bytes: copy them to a new file, then rename over."""
        tmp = self.path + ".tmp"
        buf = bytearray(_COPY)
        mv = memoryview(buf)
        left = good
        with open(self.path, "rb") as src, open(tmp, "wb") as dst:
            while left:
                k = src.readinto(mv[: min(left, _COPY)])
                if not k:
                    break
                dst.write(mv[:k])
                left -= k
            dst.flush()
        os.rename(tmp, self.path)

    def _iter(self):
        """Walk valid records in order; sets _last_good to the end of the last good one."""
        self._last_good = 0
        try:
            f = open(self.path, "rb")
        except OSError:
            return
        hdr = self._hdr
        pos = 0
        with f:
            while True:
                if f.readinto(hdr) != _HDR_LEN:
                    return
                n, crc = struct.unpack(_HDR, hdr)
                if n == 0 or n > self.max_record:
                    return
                payload = f.read(n)
                if len(payload) != n or _crc(hdr, payload) != crc:
                    return
                pos += _HDR_LEN + n
                self._last_good = pos
                yield payload

    def records(self):
        """Yield each intact record's payload (bytes), oldest first."""
        self.close()
        return self._iter()

    def append(self, payload):
        """Append one record; it is durable (flushed) when this returns."""
        if isinstance(payload, str):
            payload = payload.encode()
        n = len(payload)
        if n == 0 or n > self.max_record:
            raise JournalError("record of %d bytes (allowed 1..%d)" % (n, self.max_record))
        hdr = self._hdr
        struct.pack_into("<H", hdr, 0, n)
        struct.pack_into("<I", hdr, 2, _crc(hdr, payload))
        if self._f is None:
            self._f = open(self.path, "ab")
        self._f.write(hdr)
        self._f.write(payload)
        self._f.flush()
        self.count += 1

    def close(self):
        if self._f is not None:
            self._f.close()
            self._f = None

    def compact(self, keep):
        """Rewrite the journal keeping records for which keep(payload) is true; atomic."""
        self.close()
        tmp = self.path + ".tmp"
        hdr = bytearray(_HDR_LEN)
        n = 0
        with open(tmp, "wb") as out:
            for rec in self._iter():
                if keep(rec):
                    struct.pack_into("<H", hdr, 0, len(rec))
                    struct.pack_into("<I", hdr, 2, _crc(hdr, rec))
                    out.write(hdr)
                    out.write(rec)
                    n += 1
            out.flush()
        os.rename(tmp, self.path)
        self.count = n
        return n

    def size(self):
        try:
            return os.stat(self.path)[6]
        except OSError:
            return 0
