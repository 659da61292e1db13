"""The file index of an app release, checked line by line in bounded memory.

A signed app manifest names its files through `index` = {size, sha256} of a separate file,
index.txt, one line per file: "<sha256 hex> <size> <offset> <path>\n" (the same text as a
slot's files.idx, so the downloaded index becomes the slot's index and its signed hash the
slot's pin). Lines are sorted by path, strictly ascending (a duplicate path would be
adjacent), and files lie in the bundle in that order without overlap; so one pass holding
only the previous path and the previous file's end checks a 300-file release, where a JSON
list would need the whole list in RAM. Imported only when an index is checked, after the
signature check, so the check itself does not carry this code.
"""
import hashlib
from binascii import hexlify

from firmware.ota.fields import ManifestError, check_path, is_sha

_DIGITS = "0123456789"


def _num(s, what, where):
    """Decimal text -> int; '-digits' gives a negative number (the caller names why it is bad)."""
    neg = s[:1] == "-"
    d = s[1:] if neg else s
    if not d or len(d) > 10:
        raise ManifestError("bad_field", "%s%s: expected a number, got %r" % (where, what, s))
    for c in d:
        if c not in _DIGITS:
            raise ManifestError("bad_field", "%s%s: expected a number, got %r" % (where, what, s))
    return -int(d) if neg else int(d)


def check_line(text, n, prev, end, bsize, lim):
    """One index line without its newline -> (sha, size, offset, path); raises ManifestError."""
    where = "index line %d: " % n
    parts = text.split(" ", 3)
    if len(parts) != 4:
        raise ManifestError("bad_field", where + "expected 'sha256 size offset path'")
    sha, size, off, path = parts
    if not is_sha(sha):
        raise ManifestError("bad_sha256", where + "sha256: expected 64 lowercase hex chars")
    size = _num(size, "size", where)
    if size < 0:
        raise ManifestError("bad_field", "%ssize %d is negative" % (where, size))
    if size > lim["max_file_size"]:
        raise ManifestError("too_large", "%ssize %d, limit %d" % (where, size, lim["max_file_size"]))
    off = _num(off, "offset", where)
    if off < 0:
        raise ManifestError("bad_offset", "%s: offset %d is before the bundle" % (path, off))
    check_path(path, lim)
    if prev is not None:
        if path == prev:
            raise ManifestError("duplicate_path", path)
        if path < prev:
            raise ManifestError("bad_order", "%s%r sorts before %r: the index must be sorted by path" % (where, path, prev))
    if off < end:
        raise ManifestError("bad_offset", "%s at offset %d overlaps the file before (ends at %d)" % (path, off, end))
    if off + size > bsize:
        raise ManifestError("bad_offset", "%s ends at %d, bundle is %d bytes" % (path, off + size, bsize))
    return sha, size, off, path


def check_index(f, payload):
    """Check the index text read from binary stream `f` against the verified app payload
    (manifest.check's result, which carries the limits it used as "_limits"). Streams: one
    line in RAM at a time. Returns the number of files; raises ManifestError."""
    lim = payload["_limits"]
    spec = payload["index"]
    bsize = payload["bundle"]["size"]
    longest = 64 + 11 + 11 + lim["max_path"] + 1
    h = hashlib.sha256()
    total = n = end = 0
    prev = None
    while True:
        line = f.readline(longest + 1)
        if not line:
            break
        total += len(line)
        if total > spec["size"]:
            raise ManifestError("bad_index", "index is longer than its signed size %d" % spec["size"])
        h.update(line)
        n += 1
        if n > lim["max_files"]:
            raise ManifestError("too_large", "more than %d files" % lim["max_files"])
        if line[-1:] != b"\n":
            raise ManifestError("bad_field", "index line %d: not a whole line of at most %d bytes" % (n, longest))
        try:
            text = line[:-1].decode()
        except UnicodeError:
            raise ManifestError("unsafe_path", "index line %d is not text" % n)
        line = None
        _, size, off, prev = check_line(text, n, prev, end, bsize, lim)
        end = off + size
    if total != spec["size"] or hexlify(h.digest()).decode() != spec["sha256"]:
        raise ManifestError("bad_index", "index bytes differ from the signed size/sha256")
    if not n:
        raise ManifestError("bad_field", "the index lists no files")
    return n


def line(sha_hex, size, off, path):
    """One index line (the format above), as text."""
    return "%s %d %d %s\n" % (sha_hex, size, off, path)
