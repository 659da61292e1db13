"""`upile flash`: write MicroPython (OTA variant) and optionally a filesystem image to an ESP32.

Everything is checked before esptool starts (chip, kind of image, filesystem size), then one
esptool session writes every region; esptool verifies each region's hash after writing.
Where the firmware goes is decided from the file (upile.espimage):
- combined image -> 0x1000 (bootloader, partition table, app in ota_0; its 0xFF padding
  also blanks nvs and otadata, so the board boots ota_0);
- app-only image -> ota_0 (0x10000), plus 8 KiB of 0xFF over otadata (0xd000) so the
  bootloader boots ota_0 even if the board last ran ota_1.
The filesystem image goes to the `vfs` partition of that table.
"""
import shlex
import subprocess
from pathlib import Path

from upile import paths
from upile.errors import UserError
from upile.espimage import read_firmware, read_fs_image
from upile.ports import esptool_port


def add_arguments(p):
    p.add_argument("--port", required=True, help="serial device (/dev/ttyUSB0) or socket://host:port")
    p.add_argument("--firmware", required=True, type=Path, help="MicroPython ESP32 OTA firmware (.bin)")
    p.add_argument("--fs", type=Path, help="littlefs image for the vfs partition (upile fsimage)")
    p.add_argument("--erase", action="store_true", help="erase the whole flash first (same session)")
    p.add_argument("--baud", type=int, default=460800, help="esptool transfer baud rate")
    p.add_argument("--dry-run", action="store_true", help="print the esptool command, write nothing")


def plan(firmware, fs=None):
    """[(offset, path, what)] to write, after every check passed."""
    fw = read_firmware(firmware)
    regions = []
    if fw.kind == "app":
        otadata = fw.part("otadata")
        regions.append((otadata.offset, None, "blank otadata (boot ota_0)"))
    what = "firmware (%s%s)" % (fw.kind, ", MicroPython " + fw.version if fw.version else "")
    regions.append((fw.flash_offset, str(firmware), what))
    if fs is not None:
        vfs = fw.vfs()
        read_fs_image(fs, vfs)
        regions.append((vfs.offset, str(fs), "filesystem (vfs)"))
    return fw, regions


def blank_file(size):
    """A file of `size` 0xFF bytes under build/ (kept, so a --dry-run command can be rerun)."""
    path = paths.BUILD / "flash" / ("blank-%d.bin" % size)
    if not path.exists() or path.stat().st_size != size:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\xff" * size)
    return str(path)


def command(port, regions, erase=False, baud=460800):
    cmd = [paths.tool("esptool"), "--chip", "esp32", "--port", port, "--baud", str(baud),
           "write-flash", "--flash-size", "keep"]
    if erase:
        cmd.append("--erase-all")
    for off, path, _ in regions:
        cmd += ["0x%x" % off, path]
    return cmd


def run(args):
    fw, regions = plan(args.firmware, args.fs)
    for off, path, what in regions:
        print("0x%06x  %s%s" % (off, what, "  " + path if path else ""))
    regions = [(off, path or blank_file(fw.part("otadata").size), what) for off, path, what in regions]
    if args.dry_run:
        print(shlex.join(command(args.port, regions, args.erase, args.baud)))
        return 0
    cmd = command(esptool_port(args.port), regions, args.erase, args.baud)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        raise UserError("cannot run esptool: %s" % e)
    if p.returncode:
        tail = (p.stdout + p.stderr).strip().splitlines()[-6:]
        raise UserError("esptool failed (exit %d) on %s:\n  %s" % (p.returncode, args.port, "\n  ".join(tail)))
    verified = p.stdout.count("Hash of data verified")
    if verified < len(regions):
        raise UserError("esptool wrote but verified only %d of %d regions:\n%s" % (verified, len(regions), p.stdout[-2000:]))
    print("flashed and verified %d regions on %s" % (len(regions), args.port))
    return 0
