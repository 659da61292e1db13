"""Ed25519 verify and SHA-512 speed under `micropython`, and the heap verification needs.

Run with the venv python (make bench). Signs with `cryptography` on the host, then times
lib/ed25519.verify inside micropython (-X heapsize=256K, the .mpy files of `upile build`).
This machine is shared, so a wall-clock figure depends on what else runs: the bench prints
the load average, the mean of all runs and the best run, and the CPU time micropython itself
spent per verify (from the difference of two runs of N and 3N verifies, so the process start
cancels out; it still grows somewhat under load, through caches and stolen cycles).
Peak heap = the smallest `-X heapsize` (1 KB steps) at which importing the modules and
verifying a 4 KB message (a manifest is ~1 KB) still succeed.
"""
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from mpy import micropython_bin  # noqa: E402

from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: E402

SCRIPT = r"""
import sys, time, gc, binascii
gc.collect()
m0 = gc.mem_alloc()
import sha512
gc.collect()
m1 = gc.mem_alloc()
import ed25519
gc.collect()
m2 = gc.mem_alloc()
u = binascii.unhexlify
pub, sig_short, sig_long = u(sys.argv[1]), u(sys.argv[2]), u(sys.argv[3])
short = b"upile" * 12
long = bytes(range(256)) * 16
mode = sys.argv[4]
def timed(f, n):
    t = time.ticks_us()
    for _ in range(n):
        f()
    return time.ticks_diff(time.ticks_us(), t) / n
gc.collect()
base_alloc = gc.mem_alloc()
if mode == "heap":
    ok = ed25519.verify(pub, long, sig_long) and ed25519.verify(pub, short, sig_short)
    print("OK %d" % base_alloc if ok else "BAD")
    raise SystemExit
if mode == "cpu":
    for _ in range(int(sys.argv[5])):
        ed25519.verify(pub, short, sig_short)
    raise SystemExit
t = time.ticks_us()
assert ed25519.verify(pub, short, sig_short)
first = time.ticks_diff(time.ticks_us(), t)
gc.collect()
kept = gc.mem_alloc() - base_alloc
runs = [timed(lambda: ed25519.verify(pub, short, sig_short), 10) for _ in range(7)]
longs = [timed(lambda: ed25519.verify(pub, long, sig_long), 5) for _ in range(3)]
bad = bytearray(sig_short); bad[40] ^= 1
rej = timed(lambda: ed25519.verify(pub, short, bad), 10)
data = bytes(i * 7 & 255 for i in range(4096))  # not zeros: small ints would flatter the ints
native = sha512._native is not sha512._block
v = min(timed(lambda: sha512.sha512(data).digest(), 4) for _ in range(3))
sha512._native = sha512._block  # the plain-int compression, as on CPython or without the native module
vp = min(timed(lambda: sha512.sha512(data[:1024]).digest(), 1) for _ in range(3))
print("import: sha512 %d bytes of heap (its native compression included: %s), ed25519 %d (its table of B included)"
      % (m1 - m0, "yes" if native else "NO, plain ints", m2 - m1))
print("first verify: %.0f us; heap kept after it: %d bytes" % (first, kept))
print("verify, 60-byte message: mean %.0f us, median %.0f us, best run %.0f us (7 runs of 10)"
      % (sum(runs) / len(runs), sorted(runs)[3], min(runs)))
print("verify, 4096-byte message: mean %.0f us, best run %.0f us" % (sum(longs) / len(longs), min(longs)))
print("reject (bad S): mean %.0f us" % rej)
print("sha512: %.1f us per 128-byte block native (%.0f KB/s); %.0f us per block in plain ints"
      % (v / 33, 4096 / v * 1000000 / 1024, vp / 9))
"""


# What ships: the .mpy tree of `upile build` (make bench builds first); else the sources.
LIB = ROOT / "build" / "x64" / "lib"
if not (LIB / "ed25519.mpy").exists():
    LIB = ROOT / "lib"


def run(args, heap):
    env = dict(os.environ, MICROPYPATH=str(LIB))
    return subprocess.run([micropython_bin(), "-X", "heapsize=%s" % heap, "-c", SCRIPT] + args,
                          env=env, capture_output=True, text=True, timeout=300)


def cpu_per_verify(args, n=100):
    """CPU seconds (user + system) of micropython per verify: runs of n and 3n verifies."""
    def child_cpu(count):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = run(args + ["cpu", str(count)], "256K")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode:
            sys.exit("bench failed:\n" + p.stdout + p.stderr)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    return min((child_cpu(3 * n) - child_cpu(n)) / (2 * n) for _ in range(3))


def main():
    key = ed25519.Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    short, long = b"upile" * 12, bytes(range(256)) * 16
    args = [pub.hex(), key.sign(short).hex(), key.sign(long).hex()]
    load = os.getloadavg()[0]
    p = run(args + ["time"], "256K")
    if p.returncode:
        sys.exit("bench failed:\n" + p.stdout + p.stderr)
    print(p.stdout, end="")
    print("verify, 60-byte message: %.0f us of micropython CPU time each (best of 3 differences of 100 and 300)"
          % (cpu_per_verify(args) * 1e6))
    print("load average (1 min) when the timing started: %.2f, after: %.2f (2 cores)" % (load, os.getloadavg()[0]))
    hi = 96
    out = run(args + ["heap"], "%dK" % hi).stdout.split()
    if out[:1] != ["OK"]:
        sys.exit("verify fails even with %d KB of heap" % hi)
    code = int(out[1])
    # Fragmentation makes success not quite monotonic in the heap size: report the size from
    # which every larger heap works, scanning down.
    while hi > 8 and run(args + ["heap"], "%dK" % (hi - 1)).stdout.startswith("OK"):
        hi -= 1
    print("peak heap: import + verify of a 4 KB message works with every -X heapsize >= %dK;"
          " %.1f KB of that is the interpreter and the imported modules (%s), so verify's own peak"
          " (the 4 KB message and the signatures included) is %.1f KB"
          % (hi, code / 1024, LIB.relative_to(ROOT), hi - code / 1024))


if __name__ == "__main__":
    main()
