"""Storage figures on the sim flash: journal appends/s, littlefs write KB/s, erases per KB, atomic replaces/s.

Runs a MicroPython program (embedded below) on a fresh SimFlash-backed littlefs in a temp
dir and prints labelled figures. Host speeds say little about an ESP32's SPI flash; the
erase counts (wear) are what carry over, since littlefs does the same work on both.
Usage: .venv/bin/python bench/storage.py
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from mpy import micropython_bin, device_path  # noqa: E402

PROGRAM = r'''
import sys, time, os
import journal, fsatomic
from chip.simflash import SimFlash, mount

FLASH = 1024 * 1024

def fresh(name):
    bd = SimFlash(name, FLASH)
    mount(bd, "/fl")
    return bd

def done(where):
    import vfs
    vfs.umount(where)

def ms_since(t0):
    return time.ticks_diff(time.ticks_ms(), t0) or 1

def bench_journal(batch, n=2000, size=64):
    bd = fresh("j%d.bin" % batch)
    j = journal.Journal("/fl/j")
    rec = b"r" * size
    e0 = bd.total_erases(); p0 = bd.bytes_programmed
    t0 = time.ticks_ms()
    for i in range(n):
        if batch == 1:
            j.append(rec)
        else:
            j.append(rec, sync=False)
            if i % batch == batch - 1:
                j.sync()
    j.close()
    ms = ms_since(t0)
    kb = n * (size + 6) / 1024
    er = bd.total_erases() - e0
    label = "sync every append" if batch == 1 else "sync=False, sync() every %d" % batch
    print("journal append, %d-byte records, %s: %d appends/s, %.2f erases per appended KB, %.1f KB programmed per appended KB" % (
        size, label, n * 1000 // ms, er / kb, (bd.bytes_programmed - p0) / 1024 / kb))
    t0 = time.ticks_ms()
    j2 = journal.Journal("/fl/j")
    c = 0
    for r in j2.records():
        c += 1
    if batch == 1:
        print("journal open+scan+iterate of %d records: %d records/s" % (c, c * 1000 // ms_since(t0)))
    done("/fl")

def bench_write(total=512 * 1024, chunk=4096):
    bd = fresh("w.bin")
    buf = bytearray(b"w" * chunk)
    e0 = bd.total_erases()
    t0 = time.ticks_ms()
    with open("/fl/big", "wb") as f:
        for _ in range(total // chunk):
            f.write(buf)
    ms = ms_since(t0)
    print("sim-flash write through littlefs, %d KB file in %d-byte writes: %d KB/s, %.2f erases per KB" % (
        total // 1024, chunk, (total // 1024) * 1000 // ms, (bd.total_erases() - e0) / (total / 1024)))
    t0 = time.ticks_ms()
    with open("/fl/big", "rb") as f:
        while f.readinto(buf):
            pass
    print("sim-flash read through littlefs: %d KB/s" % ((total // 1024) * 1000 // ms_since(t0)))
    done("/fl")

def bench_atomic(n=300, size=256):
    bd = fresh("a.bin")
    data = b"a" * size
    e0 = bd.total_erases()
    t0 = time.ticks_ms()
    for i in range(n):
        fsatomic.write("/fl/state", data)
    ms = ms_since(t0)
    print("fsatomic.write replace of a %d-byte file: %d replaces/s, %.2f erases per replace" % (
        size, n * 1000 // ms, (bd.total_erases() - e0) / n))
    done("/fl")

bench_journal(1)
bench_journal(16)
bench_journal(64)
bench_write()
bench_atomic()
'''


def main():
    with tempfile.TemporaryDirectory(prefix="upile-bench-") as tmp:
        prog = Path(tmp) / "bench_storage_mpy.py"
        prog.write_text(PROGRAM)
        env = dict(os.environ, MICROPYPATH=device_path())
        ver = subprocess.run([micropython_bin(), "-c", "import sys; print(sys.version)"], capture_output=True, text=True)
        print("storage bench: micropython %s, SimFlash 1 MiB (4 KiB sectors) + littlefs, host %s" % (ver.stdout.strip(), os.uname().machine))
        p = subprocess.run([micropython_bin(), "-X", "heapsize=256K", str(prog)], cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
        sys.stdout.write(p.stdout)
        if p.returncode:
            sys.stderr.write(p.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
