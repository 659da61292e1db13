"""Atomic small-file replace for littlefs (and any VFS whose rename replaces).

A file is written beside its target as `<path>.tmp`, flushed, closed, then renamed over
the target: a power cut leaves either the old or the new file. The content is framed
(`UPA1` | length u32 | crc32 u32 | data) so a file damaged some other way (truncated by a
tool, bit rot) is reported as `Corrupt` instead of being parsed as good data.
"""
import os
import struct
from binascii import crc32

_MAGIC = b"UPA1"
_HDR = "<4sII"
_HDR_LEN = 12


# Corrupt reason codes (args[0]); args[1] is a human-readable detail naming the file
SHORT_HEADER = "short_header"
BAD_MAGIC = "bad_magic"
TRUNCATED = "truncated"
BAD_CRC = "bad_crc"
TRAILING = "trailing_bytes"
NOT_JSON = "not_json"


class Corrupt(Exception):
    """Stored file exists but is not a complete atomic record.

    args[0] is a reason code (SHORT_HEADER, BAD_MAGIC, TRUNCATED, BAD_CRC, TRAILING,
    NOT_JSON), args[1] the detail. Nothing is deleted: the caller decides.
    """

    @property
    def reason(self):
        return self.args[0]


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def mkdirs(path):
    """Create a directory and its parents (no error if they exist)."""
    cur = ""
    for part in path.split("/"):
        if not part:
            cur = "/" if not cur else cur
            continue
        cur = cur + part if cur.endswith("/") or not cur else cur + "/" + part
        try:
            os.mkdir(cur)
        except OSError:
            pass


def write(path, data):
    """Replace `path` with `data` (bytes or str) so a power cut keeps old or new."""
    if isinstance(data, str):
        data = data.encode()
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack(_HDR, _MAGIC, len(data), crc32(data)))
        f.write(data)
        f.flush()
    os.rename(tmp, path)


def read(path, default=None):
    """Return the bytes last written with write(), `default` if none was ever completed.

    Leftovers of an interrupted write (`.tmp`) are removed. Raises Corrupt with a reason
    when the file is there but damaged.
    """
    tmp = path + ".tmp"
    if exists(tmp):
        _remove(tmp)
    try:
        f = open(path, "rb")
    except OSError:
        return default
    with f:
        hdr = f.read(_HDR_LEN)
        if len(hdr) < _HDR_LEN:
            raise Corrupt(SHORT_HEADER, "%d of %d header bytes in %s" % (len(hdr), _HDR_LEN, path))
        magic, n, crc = struct.unpack(_HDR, hdr)
        if magic != _MAGIC:
            raise Corrupt(BAD_MAGIC, "magic %r in %s" % (magic, path))
        # check the length against the file before allocating: a damaged length field
        # must give Corrupt, not a MemoryError
        have = os.stat(path)[6] - _HDR_LEN
        if have < n:
            raise Corrupt(TRUNCATED, "%d of %d data bytes in %s" % (have, n, path))
        if have > n:
            raise Corrupt(TRAILING, "%d bytes after the %d-byte record in %s" % (have - n, n, path))
        data = f.read(n)
        if len(data) != n:
            raise Corrupt(TRUNCATED, "%d of %d data bytes in %s" % (len(data), n, path))
        if crc32(data) != crc:
            raise Corrupt(BAD_CRC, "crc mismatch in %s" % path)
    return data


def write_json(path, obj):
    import json

    write(path, json.dumps(obj))


def read_json(path, default=None):
    """Like read(), decoded as JSON; undecodable JSON is Corrupt too."""
    import json

    data = read(path)
    if data is None:
        return default
    try:
        return json.loads(data)
    except ValueError:
        raise Corrupt(NOT_JSON, "undecodable JSON in " + path)


def remove(path):
    _remove(path + ".tmp")
    _remove(path)
