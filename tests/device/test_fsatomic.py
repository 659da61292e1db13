# Atomic file replace (lib/fsatomic.py) on the host FS and on sim-flash littlefs.
import os
import struct
from binascii import crc32

import fsatomic
from storage_helpers import flash_fs, unmount, tmpdir, write_raw, read_raw, exists, rmtree


def _p(name):
    return tmpdir() + "/" + name


def teardown():
    unmount("/fl")


def test_write_then_read_returns_content():
    p = _p("a")
    fsatomic.write(p, b"hello")
    assert fsatomic.read(p) == b"hello"
    fsatomic.write(p, "text is encoded")
    assert fsatomic.read(p) == b"text is encoded"
    assert not exists(p + ".tmp")


def test_missing_file_gives_default():
    assert fsatomic.read(_p("nope")) is None
    assert fsatomic.read(_p("nope"), b"d") == b"d"
    assert fsatomic.read_json(_p("nope"), {"x": 1}) == {"x": 1}


def test_replace_on_littlefs_keeps_one_version():
    bd = flash_fs("fa.bin")
    for i in range(20):
        fsatomic.write("/fl/state", b"v%d" % i * 30)
    assert fsatomic.read("/fl/state") == b"v19" * 30
    assert sorted(os.listdir("/fl")) == ["state"]
    assert bd.violations == 0


def test_leftover_tmp_of_interrupted_write_is_ignored_and_removed():
    p = _p("b")
    fsatomic.write(p, b"old")
    # an interrupted write leaves a half-written .tmp beside the target
    write_raw(p + ".tmp", b"UPA1\x40\x00\x00\x00half")
    assert fsatomic.read(p) == b"old"
    assert not exists(p + ".tmp")
    # and a .tmp with no target at all means no write ever completed
    q = _p("c")
    write_raw(q + ".tmp", b"UPA1")
    assert fsatomic.read(q) is None


def test_truncated_file_is_corrupt_with_reason():
    p = _p("t")
    fsatomic.write(p, b"0123456789" * 10)
    full = read_raw(p)
    write_raw(p, full[:50])
    try:
        fsatomic.read(p)
        raise AssertionError("truncated file was accepted")
    except fsatomic.Corrupt as e:
        assert e.reason == fsatomic.TRUNCATED, e.args
        assert p in e.args[1]
    write_raw(p, full[:5])
    try:
        fsatomic.read(p)
        raise AssertionError("short header accepted")
    except fsatomic.Corrupt as e:
        assert e.reason == fsatomic.SHORT_HEADER
    # the damaged file is left for the caller to inspect or replace
    assert read_raw(p) == full[:5]


def test_bit_flip_magic_and_trailing_bytes_are_corrupt():
    p = _p("f")
    fsatomic.write(p, b"payload!")
    good = bytearray(read_raw(p))
    bad = bytearray(good)
    bad[14] ^= 0x01
    write_raw(p, bad)
    cases = [(fsatomic.BAD_CRC, bytes(bad)), (fsatomic.BAD_MAGIC, b"XXXX" + good[4:]), (fsatomic.TRAILING, bytes(good) + b"!")]
    for reason, content in cases:
        write_raw(p, content)
        try:
            fsatomic.read(p)
            raise AssertionError("accepted " + reason)
        except fsatomic.Corrupt as e:
            assert e.reason == reason, (reason, e.args)


def test_huge_length_field_is_corrupt_not_memoryerror():
    p = _p("h")
    write_raw(p, struct.pack("<4sII", b"UPA1", 0x7FFFFFF0, 0) + b"tiny")
    try:
        fsatomic.read(p)
        raise AssertionError("accepted")
    except fsatomic.Corrupt as e:
        assert e.reason == fsatomic.TRUNCATED


def test_json_round_trip_and_bad_json():
    p = _p("j.json")
    fsatomic.write_json(p, {"a": [1, 2], "b": "x"})
    assert fsatomic.read_json(p) == {"a": [1, 2], "b": "x"}
    fsatomic.write(p, b"{not json")
    try:
        fsatomic.read_json(p)
        raise AssertionError("accepted")
    except fsatomic.Corrupt as e:
        assert e.reason == fsatomic.NOT_JSON


def test_empty_content_is_valid():
    p = _p("e")
    fsatomic.write(p, b"")
    assert fsatomic.read(p) == b""


def test_remove_and_mkdirs():
    base = _p("d1")
    rmtree(base)
    fsatomic.mkdirs(base + "/d2/d3")
    fsatomic.mkdirs(base + "/d2/d3")  # again: no error
    p = base + "/d2/d3/x"
    fsatomic.write(p, b"1")
    write_raw(p + ".tmp", b"junk")
    fsatomic.remove(p)
    assert not exists(p) and not exists(p + ".tmp")
    fsatomic.remove(p)  # missing is fine


def test_frame_format_is_documented_one():
    p = _p("fmt")
    fsatomic.write(p, b"abc")
    raw = read_raw(p)
    assert raw == struct.pack("<4sII", b"UPA1", 3, crc32(b"abc")) + b"abc"
