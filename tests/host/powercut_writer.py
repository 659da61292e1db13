# MicroPython program driven by test_powercut_storage.py (not a test itself).
# argv: flash file, may_format (0/1), max_ops.
# Mounts the sim flash, checks what survived the last power cut and prints it as STATE lines
# (or BAD lines), then appends journal records, replaces atomic files and compacts, printing
# an acknowledgement after each durable write. Every line ends in " ." so the host can tell a
# complete line from one cut by the kill.
import sys

import fsatomic
import journal
from chip.simflash import SimFlash, mount

FLASH_SIZE = 256 * 1024
FILES = ("a0", "a1")
COMPACT_AT = 80  # records in the journal before compaction
KEEP = 30  # newest records kept by compaction


def out(s):
    print(s + " .")


def record(i):
    """Deterministic payload of record i (variable length, content tied to i)."""
    return (b"%d," % i) * (1 + (i * 7) % 40)


def content(name, v):
    """Deterministic content of version v of atomic file `name` (up to ~4 KB)."""
    return (b"%s-%d|" % (name.encode(), v)) * (1 + (v * 37) % 400)


def check():
    """Print STATE lines for what is on flash; BAD lines for anything not as written."""
    j = journal.Journal("/fl/j")
    if j.dropped:
        out("BAD journal dropped %d bytes (%s) on littlefs" % (j.dropped, j.damage))
    first = last = -1
    for rec in j.records():
        try:
            i = int(rec.split(b",", 1)[0])
        except ValueError:
            out("BAD record after %d unreadable" % last)
            continue
        if rec != record(i):
            out("BAD record %d torn or altered" % i)
        if first < 0:
            first = i
        elif i != last + 1:
            out("BAD record %d follows %d" % (i, last))
        last = i
    if first < 0:
        first = last + 1
    out("STATE J %d %d" % (first, last))
    versions = {}
    for name in FILES:
        v = 0
        try:
            data = fsatomic.read("/fl/" + name)
        except fsatomic.Corrupt as e:
            out("BAD atomic %s %s" % (name, e.args[0]))
            data = None
        if data is not None:
            v = int(data.split(b"|", 1)[0].split(b"-")[1])
            if data != content(name, v):
                out("BAD atomic %s v%d content" % (name, v))
        versions[name] = v
        out("STATE A %s %d" % (name, v))
    return j, first, last, versions


def main():
    path, may_format, max_ops = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
    bd = SimFlash(path, FLASH_SIZE)
    try:
        mount(bd, "/fl", format_if_needed=may_format)
    except OSError as e:
        out("BAD mount %r" % e)
        return
    out("FORMATTED")
    j, first, last, versions = check()
    out("READY")
    if max_ops == 0:
        return
    for op in range(max_ops):
        last += 1
        j.append(record(last))
        out("J ACK %d" % last)
        if last % 3 == 0:
            name = FILES[(last // 3) % 2]
            v = versions[name] + 1
            out("A BEGIN %s %d" % (name, v))
            fsatomic.write("/fl/" + name, content(name, v))
            versions[name] = v
            out("A ACK %s %d" % (name, v))
        if last - first + 1 > COMPACT_AT:
            t = last - KEEP + 1
            out("C BEGIN %d" % t)
            j.compact(lambda rec: int(rec.split(b",", 1)[0]) >= t)
            first = t
            out("C ACK %d" % t)
    if bd.violations:
        out("BAD %d NOR violations" % bd.violations)
    out("DONE")


main()
