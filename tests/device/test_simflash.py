# Simulated NOR flash (chip/simflash.py): erase/program rules, the extended block
# protocol littlefs uses, wear counters, littlefs on top, and wrong-size flash files.
import os
import vfs

from chip.simflash import SimFlash, FlashSizeError, SECTOR, mount
from storage_helpers import tmpdir, rmtree, write_raw, unmount, Rng

SIZE = 64 * 1024


def _flash(name, size=SIZE):
    path = tmpdir() + "/" + name
    rmtree(path)
    return SimFlash(path, size)


def teardown():
    unmount("/fl")


def test_new_flash_is_erased_and_ioctl_reports_geometry():
    bd = _flash("g.bin")
    assert os.stat(bd.path)[6] == SIZE
    assert bd.ioctl(4, 0) == SIZE // SECTOR
    assert bd.ioctl(5, 0) == SECTOR == 4096
    buf = bytearray(SECTOR)
    bd.readblocks(3, buf)
    assert buf == b"\xff" * SECTOR


def test_program_clears_bits_only_and_erase_sets_ff():
    bd = _flash("p.bin")
    bd.writeblocks(2, b"\x0f\xf0", 10)
    bd.writeblocks(2, b"\x0e\x00", 10)  # clearing more bits is allowed (NOR AND)
    out = bytearray(4)
    bd.readblocks(2, out, 9)
    assert out == b"\xff\x0e\x00\xff"
    assert bd.violations == 0
    bd.ioctl(6, 2)  # erase
    bd.readblocks(2, out, 9)
    assert out == b"\xff" * 4
    bd.writeblocks(2, b"\x12", 10)
    bd.readblocks(2, out, 9)
    assert out == b"\xff\x12\xff\xff"


def test_writing_over_unerased_data_raises_and_counts_violation():
    bd = _flash("v.bin")
    bd.writeblocks(1, b"\x00\x00", 100)
    try:
        bd.writeblocks(1, b"\x01", 100)  # would need a 0 -> 1 change
        raise AssertionError("programmed a 1 over a 0")
    except OSError:
        pass
    assert bd.violations == 1
    out = bytearray(2)
    bd.readblocks(1, out, 100)
    assert out == b"\x00\x00"  # nothing half-written


def test_whole_sector_erase_and_a_late_violation_in_a_sector_write():
    # the checks and the erase go in small pieces (no sector-sized buffer in the heap):
    # every byte of the sector is still erased, and a 0 -> 1 change near its end is caught
    bd = _flash("w.bin")
    bd.writeblocks(5, b"\x00" * SECTOR, 0)
    bd.ioctl(6, 5)
    buf = bytearray(SECTOR)
    bd.readblocks(5, buf)
    assert buf == b"\xff" * SECTOR
    bd.writeblocks(5, b"\x00" * SECTOR, 0)
    new = bytearray(SECTOR)
    new[SECTOR - 3] = 0x80
    try:
        bd.writeblocks(5, new, 0)
        raise AssertionError("programmed a 1 over a 0 at byte %d" % (SECTOR - 3))
    except OSError:
        pass
    assert bd.violations == 1
    bd.readblocks(5, buf)
    assert buf == bytes(SECTOR)  # nothing of the refused write reached the flash


def test_extended_protocol_offsets_across_sectors():
    bd = _flash("x.bin")
    data = bytes(range(256)) * 40  # 10240 bytes: spans three sectors from an offset
    bd.writeblocks(3, data, 100)
    back = bytearray(len(data))
    bd.readblocks(3, back, 100)
    assert back == data
    one = bytearray(1)
    bd.readblocks(5, one, 100 + len(data) - 2 * SECTOR - 1)
    assert one[0] == data[-1]


def test_simple_protocol_erases_then_programs():
    bd = _flash("s.bin")
    bd.writeblocks(4, b"\x00" * SECTOR, 0)
    bd.writeblocks(4, b"\xaa" * SECTOR)  # 3-argument form erases first
    out = bytearray(SECTOR)
    bd.readblocks(4, out)
    assert out == b"\xaa" * SECTOR
    assert bd.erase_counts[4] == 1 and bd.violations == 0


def test_out_of_range_access_is_oserror():
    bd = _flash("r.bin")
    for call in (
        lambda: bd.readblocks(16, bytearray(1)),
        lambda: bd.readblocks(15, bytearray(2), SECTOR - 1),
        lambda: bd.writeblocks(-1, b"\x00", 0),
        lambda: bd.ioctl(6, 16),
    ):
        try:
            call()
            raise AssertionError("out of range accepted")
        except OSError:
            pass


def test_erase_counters_per_sector():
    bd = _flash("e.bin")
    for _ in range(3):
        bd.ioctl(6, 7)
    bd.ioctl(6, 0)
    assert bd.erase_counts[7] == 3 and bd.erase_counts[0] == 1
    assert bd.total_erases() == 4
    assert len(bd.erase_counts) == SIZE // SECTOR


def test_contents_persist_across_reopen():
    bd = _flash("c.bin")
    bd.writeblocks(9, b"keep me", 5)
    bd.close()
    bd2 = SimFlash(bd.path)  # size from the file
    out = bytearray(7)
    bd2.readblocks(9, out, 5)
    assert out == b"keep me" and bd2.size == SIZE


def test_littlefs_format_mount_and_file_io():
    bd = _flash("lfs.bin", 128 * 1024)
    mount(bd, "/fl")  # blank flash will not mount: formatted
    with open("/fl/hello.txt", "w") as f:
        f.write("hi there")
    os.mkdir("/fl/data")
    with open("/fl/data/big", "wb") as f:
        for i in range(20):
            f.write(bytes([i]) * 1000)
    assert bd.total_erases() > 0 and bd.violations == 0
    unmount("/fl")
    bd.close()
    bd2 = SimFlash(bd.path)
    fs = mount(bd2, "/fl", format_if_needed=False)  # mounts as it is: nothing reformatted
    assert isinstance(fs, vfs.VfsLfs2)
    with open("/fl/hello.txt") as f:
        assert f.read() == "hi there"
    assert os.stat("/fl/data/big")[6] == 20000
    with open("/fl/data/big", "rb") as f:
        f.seek(19500)
        assert f.read(3) == b"\x13\x13\x13"
    assert sorted(os.listdir("/fl")) == ["data", "hello.txt"]


def test_garbage_flash_is_reformatted_like_the_esp32():
    path = tmpdir() + "/junk.bin"
    write_raw(path, Rng(3).bytes(1024) * 32)  # 32 KB of noise: right size, no filesystem
    bd = SimFlash(path, 32 * 1024)
    try:
        mount(bd, "/fl", format_if_needed=False)
        raise AssertionError("garbage mounted")
    except OSError:
        pass
    mount(bd, "/fl")
    with open("/fl/x", "w") as f:
        f.write("ok")
    assert os.listdir("/fl") == ["x"]


def test_wrong_size_flash_file_is_a_clear_error():
    path = tmpdir() + "/w.bin"
    write_raw(path, b"\xff" * 5000)
    try:
        SimFlash(path, SIZE)
        raise AssertionError("wrong size accepted")
    except FlashSizeError as e:
        msg = e.args[0]
        assert "5000" in msg and str(SIZE) in msg and path in msg, msg
    try:
        SimFlash(path)  # size from the file: 5000 is no whole number of sectors
        raise AssertionError("odd size accepted")
    except FlashSizeError as e:
        assert "sectors" in e.args[0]
    assert os.stat(path)[6] == 5000  # the file is not touched
    for bad in (1000, 4 * SECTOR):
        try:
            SimFlash(tmpdir() + "/new%d.bin" % bad, bad)
            raise AssertionError("bad size accepted")
        except FlashSizeError:
            pass
    try:
        SimFlash(tmpdir() + "/absent.bin")
        raise AssertionError("no size accepted")
    except FlashSizeError as e:
        assert "no size" in e.args[0]
