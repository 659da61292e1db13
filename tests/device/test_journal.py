# CRC journal (lib/journal.py): append/iterate/reopen, torn tails, corruption, compaction,
# limits, batching. Streaming reads under a 64K heap: test_journal_memory.py.
import os
import struct
from binascii import crc32

import journal
from journal import Journal, JournalError
from storage_helpers import flash_fs, unmount, tmpdir, write_raw, read_raw, exists, rmtree, Rng


def _p(name):
    path = tmpdir() + "/" + name
    for suffix in ("", ".tmp", ".bad"):
        rmtree(path + suffix)
    return path


def teardown():
    unmount("/fl")


def _frame(payload):
    hdr = struct.pack("<H", len(payload))
    return hdr + struct.pack("<I", crc32(payload, crc32(hdr))) + payload


def test_append_iterate_reopen():
    p = _p("j1")
    j = Journal(p)
    assert j.count == 0 and j.dropped == 0 and j.damage is None
    for i in range(50):
        j.append(b"rec %d" % i)
    j.append("str")
    assert j.count == 51
    assert list(j.records())[:3] == [b"rec 0", b"rec 1", b"rec 2"]
    j.append(b"after iterate")
    j.close()
    j2 = Journal(p)
    assert j2.count == 52 and j2.dropped == 0
    recs = list(j2.records())
    assert recs[-2:] == [b"str", b"after iterate"]
    assert recs[:50] == [b"rec %d" % i for i in range(50)]


def test_on_disk_format():
    p = _p("jf")
    j = Journal(p)
    j.append(b"abc")
    j.append(b"\x00\xff")
    j.close()
    assert read_raw(p) == _frame(b"abc") + _frame(b"\x00\xff")


def test_torn_tail_is_cut_and_count_reported():
    p = _p("j2")
    j = Journal(p)
    for i in range(10):
        j.append(b"x%d" % i * 10)
    j.close()
    good = read_raw(p)
    for cut in (1, 5, 6, 7, 20):  # inside the header, at its end, inside the payload
        write_raw(p, good + _frame(b"unfinished record payload")[:cut])
        j = Journal(p)
        assert j.count == 10, (cut, j.count)
        assert j.dropped == cut
        assert j.damage == journal.TORN_TAIL
        assert read_raw(p) == good  # repaired on disk
        assert not exists(p + ".bad") and not exists(p + ".tmp")
        j.append(b"next")
        j.close()
        assert list(Journal(p).records())[-1] == b"next"
        write_raw(p, good)


def test_random_bytes_journal_recovers_clean():
    p = _p("jr")
    rng = Rng(7)
    junk = rng.bytes(3000)
    write_raw(p, junk)
    j = Journal(p)
    assert j.count == 0
    assert j.dropped == 3000
    assert j.damage == journal.CORRUPT
    assert read_raw(p) == b""  # repaired
    assert read_raw(p + ".bad") == junk  # the original is kept, not destroyed
    j.append(b"works")
    j.close()
    assert list(Journal(p).records()) == [b"works"]


def test_zeros_and_ff_journal_recover_clean():
    for fill in (b"\x00", b"\xff"):
        p = _p("jz")
        write_raw(p, fill * 1024)
        j = Journal(p)
        assert j.count == 0 and j.dropped == 1024 and j.damage == journal.CORRUPT


def test_corrupt_record_in_middle_is_skipped_others_kept():
    p = _p("jm")
    recs = [b"record-%02d" % i * 3 for i in range(10)]
    raw = bytearray(b"".join(_frame(r) for r in recs))
    off = len(_frame(recs[0])) * 4 + 6 + 5  # a payload byte of record 4
    raw[off] ^= 0x40
    write_raw(p, raw)
    j = Journal(p)
    assert j.count == 9
    assert j.damage == journal.CORRUPT
    assert j.dropped == len(_frame(recs[4]))
    assert list(j.records()) == recs[:4] + recs[5:]
    assert read_raw(p + ".bad") == bytes(raw)
    j2 = Journal(p)  # the repair stuck
    assert j2.count == 9 and j2.dropped == 0 and j2.damage is None


def test_garbage_length_in_middle_cuts_rest_and_keeps_original():
    p = _p("jg")
    recs = [b"r%d" % i for i in range(6)]
    raw = bytearray(b"".join(_frame(r) for r in recs))
    off = len(_frame(recs[0])) * 2
    raw[off:off + 2] = b"\xff\xff"  # impossible length: no way to find the next record
    write_raw(p, raw)
    j = Journal(p)
    assert j.count == 2
    assert list(j.records()) == recs[:2]
    assert j.damage == journal.CORRUPT
    assert read_raw(p + ".bad") == bytes(raw)


def test_interrupted_rewrite_is_finished_or_undone():
    p = _p("ji")
    j = Journal(p)
    j.append(b"a")
    j.append(b"b")
    j.close()
    # a compaction cut before its rename: the unfinished .tmp is dropped
    write_raw(p + ".tmp", _frame(b"a")[:4])
    j = Journal(p)
    assert list(j.records()) == [b"a", b"b"] and not exists(p + ".tmp")
    # a repair cut after "original -> .bad", before ".tmp -> journal": the .tmp is installed
    os.rename(p, p + ".bad")
    write_raw(p + ".tmp", _frame(b"a"))
    j = Journal(p)
    assert list(j.records()) == [b"a"] and not exists(p + ".tmp")


def test_compaction_keeps_selected_and_is_atomic_on_flash():
    bd = flash_fs("jc.bin")
    p = "/fl/jc"
    j = Journal(p)
    for i in range(40):
        j.append(b"%d" % i)
    n = j.compact(lambda r: int(r) % 3 == 0)
    assert n == 14 and j.count == 14
    assert list(j.records()) == [b"%d" % i for i in range(0, 40, 3)]
    assert sorted(os.listdir("/fl")) == ["jc"]  # no .tmp left behind
    j.append(b"more")
    j.close()
    j2 = Journal(p)
    assert j2.count == 15 and j2.dropped == 0
    assert j2.compact(lambda r: False) == 0
    assert list(j2.records()) == []
    assert bd.violations == 0


def test_compaction_failure_leaves_old_journal():
    p = _p("jx")
    j = Journal(p)
    for i in range(5):
        j.append(b"%d" % i)

    def boom(rec):
        if rec == b"3":
            raise ValueError("keep() failed")
        return True

    try:
        j.compact(boom)
        raise AssertionError("no error")
    except ValueError:
        pass
    j2 = Journal(p)
    assert j2.count == 5 and not exists(p + ".tmp")


def test_record_size_limits():
    p = _p("jl")
    j = Journal(p, max_record=100)
    j.append(b"x" * 100)
    for bad in (b"", b"x" * 101):
        try:
            j.append(bad)
            raise AssertionError("accepted %d bytes" % len(bad))
        except JournalError as e:
            assert "allowed 1..100" in e.args[0]
    assert j.count == 1
    try:
        Journal(p, max_record=70000)
        raise AssertionError("accepted max_record beyond u16")
    except JournalError:
        pass
    j = Journal(_p("jl2"))
    j.append(b"y" * journal.MAX_RECORD)
    j.close()
    assert list(Journal(j.path).records()) == [b"y" * journal.MAX_RECORD]


def test_reopen_with_smaller_max_record_treats_big_records_as_corrupt():
    p = _p("js")
    j = Journal(p)
    j.append(b"a")
    j.append(b"b" * 200)
    j.close()
    j = Journal(p, max_record=100)
    assert j.count == 1 and j.damage == journal.CORRUPT


def test_batched_appends_need_sync():
    bd = flash_fs("jb.bin")
    p = "/fl/jb"
    j = Journal(p)
    e0 = bd.total_erases()
    for i in range(64):
        j.append(b"%064d" % i, sync=False)
    j.sync()
    batched = bd.total_erases() - e0
    assert list(j.records()) == [b"%064d" % i for i in range(64)]
    e0 = bd.total_erases()
    for i in range(64):
        j.append(b"%064d" % i)
    each = bd.total_erases() - e0
    assert batched * 4 < each, (batched, each)  # batching is what saves flash wear
    j.close()
    assert Journal(p).count == 128
