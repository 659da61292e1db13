"""The local authorization list: SendLocalList, GetLocalListVersion and the lookup auth.py
makes (OCPP 1.6 3.5, 5.10, 5.15 with errata 3.52; docs/ocpp.md "Local authorization list").

The list lives in one file on flash, never in RAM: a 16-byte header (magic, version, count,
crc32 of the records) and fixed 48-byte records sorted by the idTag in upper case (idTags are
case-insensitive, CiString20): tag (20 bytes, NUL-padded), status (1 byte), expiry (u32 unix,
0 none), parentIdTag (20 bytes), 3 spare. A lookup is a binary search with seek: at most
log2(MAX_LEN) + 1 reads of 48 bytes into one buffer. An update (Full: the message's entries;
Differential: the old file merged, streamed, with the message's sorted entries, an entry
without idTagInfo deleting its tag) is written beside the file and renamed over it: a power
cut keeps the old list or the new one. Answers: Accepted; VersionMismatch (a differential
update whose version is not above the list's); Failed (listVersion below 1, which the errata
reserve; more than SendLocalListMaxLength entries; a list that would exceed
LocalAuthListMaxLength; a duplicate or over-long idTag; a flash error): nothing changes then.
"""
import os
import struct
from binascii import crc32

from micropython import const

import log

_log = log.get("ocpp")
MAX_LEN = const(1000)  # LocalAuthListMaxLength: 48 KB of flash
SEND_MAX = const(100)  # SendLocalListMaxLength: one message's entries (~10 KB of JSON)
_REC = const(48)
_HDR = const(16)
_MAGIC = b"ULL1"
_STATUS = ("Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx")


def _key(tag):
    b = tag.upper().encode()
    return b if len(b) <= 20 else None


def _pack(buf, key, info):
    """One record into buf (bytearray of _REC) from an idTagInfo."""
    from firmware.proto.ocpp import dt

    for i in range(_REC):
        buf[i] = 0
    buf[0:len(key)] = key
    buf[20] = _STATUS.index(info["status"])
    exp = info.get("expiryDate")
    struct.pack_into("<I", buf, 21, dt.unix(exp) if exp else 0)
    par = (info.get("parentIdTag") or "").encode()[:20]
    buf[25:25 + len(par)] = par


def _cmp(buf, key):
    """The record's tag against a padded key, byte by byte (no slice: nothing allocated)."""
    for i in range(20):
        d = buf[i] - key[i]
        if d:
            return d
    return 0


def _unpack(buf):
    """(status, expiry unix or None, parent or None) of a record."""
    exp = struct.unpack_from("<I", buf, 21)[0]
    par = bytes(buf[25:45]).rstrip(b"\0")
    return _STATUS[buf[20]], exp or None, par.decode() if par else None


class LocalList:
    def __init__(self, path):
        self.path = path
        self.version = 0
        self.count = 0
        self._buf = bytearray(_REC)
        self._open()

    def _open(self):
        """Read the header and check the records' crc (streamed); a damaged list is empty."""
        self.version = self.count = 0
        try:
            f = open(self.path, "rb")
        except OSError:
            return
        try:
            h = f.read(_HDR)
            if len(h) != _HDR or h[:4] != _MAGIC:
                raise ValueError("header")
            ver, n, crc = struct.unpack_from("<iII", h, 4)
            if os.stat(self.path)[6] != _HDR + n * _REC:
                raise ValueError("size")
            c = 0
            mv = memoryview(self._buf)
            for _ in range(n):
                f.readinto(mv)
                c = crc32(mv, c)
            if c != crc:
                raise ValueError("crc")
            self.version, self.count = ver, n
        except (ValueError, OSError) as e:
            _log.warn("local list damaged (%s): empty until the CSMS sends it again", e)
        finally:
            f.close()

    def lookup(self, tag):
        """(status, expiry, parent) of an idTag in the list, None when not in it."""
        key = _key(tag)
        if not self.count or key is None:
            return None
        buf = self._buf
        key = key + bytes(20 - len(key))  # NUL-padded as stored: the same order
        lo, hi = 0, self.count - 1
        with open(self.path, "rb") as f:
            while lo <= hi:
                mid = (lo + hi) // 2
                f.seek(_HDR + mid * _REC)
                f.readinto(buf)
                d = _cmp(buf, key)
                if d == 0:
                    return _unpack(buf)
                if d < 0:
                    lo = mid + 1
                else:
                    hi = mid - 1
        return None

    def _old(self):
        """The current records one at a time (key, record bytes)."""
        if not self.count:
            return
        with open(self.path, "rb") as f:
            f.seek(_HDR)
            for _ in range(self.count):
                r = f.read(_REC)
                yield bytes(r[0:20]).rstrip(b"\0"), r

    def update(self, p):
        """SendLocalList: the status word of the answer."""
        ver = p["listVersion"]
        full = p["updateType"] == "Full"
        ents = p.get("localAuthorizationList") or []
        if ver < 1 or len(ents) > SEND_MAX:
            return "Failed"
        if not full and ver <= self.version:
            return "VersionMismatch"
        new = []
        for e in ents:
            k = _key(e["idTag"])
            if k is None:
                return "Failed"
            new.append((k, e.get("idTagInfo")))
        new.sort(key=lambda x: x[0])
        for i in range(1, len(new)):
            if new[i][0] == new[i - 1][0]:
                return "Failed"  # one idTag twice: which one wins is not said
        tmp = self.path + ".new"
        try:
            n = self._write(tmp, ver, new, () if full else self._old())
        except (OSError, ValueError) as e:
            _log.warn("local list update failed: %r", e)
            try:
                os.remove(tmp)
            except OSError:
                pass
            return "Failed"
        if n is None:
            os.remove(tmp)
            return "Failed"
        os.rename(tmp, self.path)
        self.version, self.count = ver, n
        _log.info("local list version %d: %d ids (%s)", ver, n, p["updateType"])
        return "Accepted"

    def _write(self, path, ver, new, old):
        """Merge `old` (sorted records) with `new` (sorted (key, info or None)) into path;
        the record count, or None when it would exceed MAX_LEN."""
        buf = bytearray(_REC)
        n = c = 0
        i = 0
        with open(path, "wb") as f:
            f.write(bytes(_HDR))
            for k, rec in old:
                while i < len(new) and new[i][0] < k:
                    n, c = self._put(f, buf, new[i], n, c)
                    i += 1
                if i < len(new) and new[i][0] == k:
                    n, c = self._put(f, buf, new[i], n, c)  # replaced (or deleted: no info)
                    i += 1
                    continue
                f.write(rec)
                n += 1
                c = crc32(rec, c)
                if n > MAX_LEN:
                    return None
            while i < len(new):
                n, c = self._put(f, buf, new[i], n, c)
                i += 1
            if n > MAX_LEN:
                return None
            f.seek(0)
            f.write(_MAGIC + struct.pack("<iII", ver, n, c))
        return n

    @staticmethod
    def _put(f, buf, ent, n, c):
        if ent[1] is None:
            return n, c
        _pack(buf, ent[0], ent[1])
        f.write(buf)
        return n + 1, crc32(buf, c)


def send(cp, p):
    return {"status": cp.auth.llist.update(p)}


def version(cp, p):
    """0 while the list is empty (OCPP 1.6 5.10; OCTT TC_042_2), -1 while LocalAuthListEnabled
    is false (the list is not in use: OCTT TC_042_1), else the version it was sent with."""
    ll = cp.auth.llist
    if not cp.o["local_list"]:
        return {"listVersion": -1}
    return {"listVersion": ll.version if ll.count else 0}
