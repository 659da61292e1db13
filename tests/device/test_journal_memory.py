# heapsize: 64K
# The journal streams: scanning, iterating, compacting and repairing a journal several
# times bigger than the whole 64K heap works, and live memory does not grow with it.
import gc
import struct
from binascii import crc32

import journal
from journal import Journal
from storage_helpers import tmpdir, rmtree


def _p(name):
    path = tmpdir() + "/" + name
    for suffix in ("", ".tmp", ".bad"):
        rmtree(path + suffix)
    return path


def _live():
    gc.collect()
    return gc.mem_alloc()


def _fill(p, n, size):
    j = Journal(p)
    pad = b"z" * (size - 4)
    for i in range(n):
        j.append(b"%04d" % i + pad)
    j.close()


def test_iterate_and_compact_journal_bigger_than_heap():
    p = _p("big")
    _fill(p, 400, 1000)  # ~400 KB
    base = _live()
    j = Journal(p)
    assert j.count == 400
    n = 0
    grew = 0
    for rec in j.records():
        assert rec[:4] == b"%04d" % n
        n += 1
        if n % 40 == 0:
            grew = max(grew, _live() - base)
    assert n == 400
    assert grew < 8 * 1024, grew  # one record and the reader, never the file
    assert j.compact(lambda r: int(r[:4]) >= 200) == 200
    assert Journal(p).count == 200


def test_max_size_records_stream_under_small_heap():
    p = _p("bigmax")
    _fill(p, 40, journal.MAX_RECORD)  # 160 KB of 4 KiB records
    n = 0
    for rec in Journal(p).records():
        assert len(rec) == journal.MAX_RECORD
        n += 1
    assert n == 40


def test_repairing_big_damaged_journal_streams():
    p = _p("big2")
    _fill(p, 300, 1000)
    hdr = struct.pack("<H", 400)
    with open(p, "ab") as f:
        f.write((hdr + struct.pack("<I", crc32(b"t" * 400, crc32(hdr))) + b"t" * 400)[:200])
    base = _live()
    j = Journal(p)
    assert j.count == 300 and j.damage == journal.TORN_TAIL and j.dropped == 200
    assert _live() - base < 8 * 1024
