"""`upile flash` against the mock ESP32 ROM bootloader (real esptool over TCP).

esptool checks each region's MD5 after writing; the tests then read back what landed where
with a second esptool session (`verify-flash`, MD5 of the flash region on the mock).
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import espimg  # noqa: E402

BIN = Path(sys.executable).parent
VFS_OFF, VFS_SIZE = 0x310000, 0xF0000


@pytest.fixture
def mock(tmp_path):
    """A fresh mock bootloader (blank 4 MiB flash); yields its socket:// URL."""
    port_file = tmp_path / "mock.port"
    env = dict(os.environ, ESP32_MOCK_BOOTLOADER_STATE_DIR=str(tmp_path / "mockstate"))
    p = subprocess.Popen([str(BIN / "esp32-mock-bootloader"), "run", "--chip", "esp32", "--port", "0",
                          "--port-file", str(port_file)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert p.poll() is None, "esp32-mock-bootloader exited %s" % p.returncode
            assert time.monotonic() < deadline, "esp32-mock-bootloader wrote no port file in 30 s"
            time.sleep(0.05)
        yield "socket://127.0.0.1:%s" % port_file.read_text().strip()
    finally:
        p.terminate()
        p.wait(10)


def upile(*args):
    return subprocess.run([str(BIN / "upile"), *map(str, args)], capture_output=True, text=True, timeout=120)


def flash_holds(url, *regions):
    """True when every (offset, bytes) region matches the mock's flash (esptool MD5 check)."""
    tmp = Path(tempfile.mkdtemp(prefix="upile-verify-"))
    args = []
    for i, (off, data) in enumerate(regions):
        f = tmp / ("verify-%d-%d.bin" % (os.getpid(), i))
        f.write_bytes(data)
        args += ["0x%x" % off, str(f)]
    p = subprocess.run([str(BIN / "esptool"), "--chip", "esp32", "--port", url, "verify-flash", *args],
                       capture_output=True, text=True, timeout=120)
    return p.returncode == 0 and p.stdout.count("Verification successful") == len(regions)


def littlefs_image(size=VFS_SIZE, text="factory"):
    from littlefs import LittleFS

    fs = LittleFS(block_size=4096, block_count=size // 4096)
    with fs.open("hello.txt", "w") as f:
        f.write(text)
    return bytes(fs.context.buffer)


def test_app_image_goes_to_ota0_with_fs_at_vfs_and_otadata_blanked(mock, tmp_path):
    app, vfs = tmp_path / "micropython.bin", tmp_path / "vfs.bin"
    app.write_bytes(espimg.app_image("v1.29.0"))
    vfs.write_bytes(littlefs_image())
    # something the board ran before: otadata pointing at ota_1 must not survive
    old = tmp_path / "old-otadata.bin"
    old.write_bytes(b"\x01" * 32)
    subprocess.run([str(BIN / "esptool"), "--chip", "esp32", "--port", mock, "write-flash", "0xd000", str(old)],
                   capture_output=True, check=True, timeout=60)
    r = upile("flash", "--port", mock, "--firmware", app, "--fs", vfs)
    assert r.returncode == 0, r.stderr
    assert "flashed and verified 3 regions" in r.stdout
    assert flash_holds(mock, (0x10000, app.read_bytes()), (VFS_OFF, vfs.read_bytes()), (0xD000, b"\xff" * 0x2000))
    # ota_1 untouched (still erased)
    assert flash_holds(mock, (0x190000, b"\xff" * 0x1000))


def test_combined_image_goes_to_0x1000_and_fs_follows_its_partition_table(mock, tmp_path):
    fw, vfs = tmp_path / "ESP32_GENERIC-OTA.bin", tmp_path / "vfs.bin"
    # MicroPython >= 1.25 tables end at ota_1: the vfs partition is the rest of the flash
    rows = [r for r in espimg.OTA_TABLE if r[0] != "vfs"]
    fw.write_bytes(espimg.combined_image("v1.29.0", rows=rows))
    vfs.write_bytes(littlefs_image())
    r = upile("flash", "--port", mock, "--firmware", fw, "--fs", vfs, "--erase")
    assert r.returncode == 0, r.stderr
    assert "0x001000  firmware (combined, MicroPython v1.29.0)" in r.stdout
    assert flash_holds(mock, (0x1000, fw.read_bytes()), (VFS_OFF, vfs.read_bytes()))


def test_non_esp32_files_are_refused_before_anything_is_written(mock, tmp_path):
    vfs = tmp_path / "vfs.bin"
    vfs.write_bytes(littlefs_image())
    cases = {
        "s3.bin": (espimg.app_image(chip_id=9), "built for ESP32-S3, not ESP32"),
        "readme.bin": (b"MicroPython README\n" * 100, "not an ESP32 firmware image"),
        "bootloader.bin": (espimg.bootloader_image(), "not an application"),
        "s3-combined.bin": (espimg.combined_image(chip_id=9), "built for ESP32-S3"),
    }
    for name, (data, why) in cases.items():
        f = tmp_path / name
        f.write_bytes(data)
        r = upile("flash", "--port", mock, "--firmware", f, "--fs", vfs)
        assert r.returncode == 1, name
        assert r.stderr.startswith("upile: ") and why in r.stderr, (name, r.stderr)
        assert "Traceback" not in r.stderr
    assert flash_holds(mock, (0x1000, b"\xff" * 0x10000), (VFS_OFF, b"\xff" * VFS_SIZE))


def test_fs_image_must_fill_the_vfs_partition_exactly(tmp_path):
    app, vfs, junk = tmp_path / "micropython.bin", tmp_path / "small.bin", tmp_path / "junk.bin"
    app.write_bytes(espimg.app_image())
    vfs.write_bytes(littlefs_image(size=64 * 4096))
    junk.write_bytes(b"\0" * VFS_SIZE)
    r = upile("flash", "--port", "socket://127.0.0.1:9", "--firmware", app, "--fs", vfs)
    assert r.returncode == 1 and "upile fsimage --size %d" % VFS_SIZE in r.stderr
    r = upile("flash", "--port", "socket://127.0.0.1:9", "--firmware", app, "--fs", junk)
    assert r.returncode == 1 and "not a littlefs image" in r.stderr


def test_dry_run_prints_one_esptool_session(tmp_path):
    app, vfs = tmp_path / "micropython.bin", tmp_path / "vfs.bin"
    app.write_bytes(espimg.app_image())
    vfs.write_bytes(littlefs_image())
    r = upile("flash", "--port", "/dev/ttyUSB7", "--firmware", app, "--fs", vfs, "--dry-run", "--erase")
    assert r.returncode == 0, r.stderr
    cmd = r.stdout.strip().splitlines()[-1]
    assert "esptool --chip esp32 --port /dev/ttyUSB7" in cmd and cmd.count("write-flash") == 1
    assert "--erase-all" in cmd and "0x10000 %s" % app in cmd and "0x310000 %s" % vfs in cmd
    blank = cmd.split("0xd000 ")[1].split()[0]
    assert Path(blank).read_bytes() == b"\xff" * 0x2000


def test_user_mistakes_are_one_line_errors(tmp_path):
    app = tmp_path / "micropython.bin"
    app.write_bytes(espimg.app_image())
    for args, why in [
        (("--port", "/dev/ttyNOPE0", "--firmware", app), "no such serial port: /dev/ttyNOPE0"),
        (("--port", "socket://127.0.0.1:1", "--firmware", app), "esptool failed"),
        (("--port", "socket://127.0.0.1:1", "--firmware", tmp_path / "missing.bin"), "cannot read firmware"),
        (("--port", "sim", "--firmware", app), "no ROM bootloader"),
    ]:
        r = upile("flash", *args)
        assert r.returncode == 1 and r.stderr.startswith("upile: ") and why in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
