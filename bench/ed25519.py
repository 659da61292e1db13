"""Ed25519 verify and SHA-512 speed under `micropython`, and the heap verification needs.

Run with the venv python (make bench). Signs with `cryptography` on the host, then times
lib/ed25519.verify inside micropython. Figures are wall-clock on this machine: the mean of
all runs and the best run of several, since other work on the host adds noise.
Peak heap = the smallest `-X heapsize` (1 KB steps) at which importing the modules and
verifying a 4 KB message (a manifest is ~1 KB) still succeed.
"""
import os
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
before_import = gc.mem_alloc()
import ed25519, sha512
gc.collect()
code = gc.mem_alloc() - before_import
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
def first_verify():
    t = time.ticks_us()
    assert ed25519.verify(pub, short, sig_short)
    return time.ticks_diff(time.ticks_us(), t)
gc.collect()
base_alloc = gc.mem_alloc()
if mode == "heap":
    ok = ed25519.verify(pub, long, sig_long) and ed25519.verify(pub, short, sig_short)
    print("OK %d" % base_alloc if ok else "BAD")
    raise SystemExit
first = first_verify()
gc.collect()
kept = gc.mem_alloc() - base_alloc
runs = [timed(lambda: ed25519.verify(pub, short, sig_short), 10) for _ in range(5)]
longs = [timed(lambda: ed25519.verify(pub, long, sig_long), 5) for _ in range(3)]
bad = bytearray(sig_short); bad[40] ^= 1
rej = timed(lambda: ed25519.verify(pub, short, bad), 10)
data = bytes(i * 7 & 255 for i in range(4096))  # not zeros: small ints would flatter the ints
v = [timed(lambda: sha512.sha512(data).digest(), 2) for _ in range(3)]
print("import ed25519 + sha512: %d bytes of heap" % code)
print("first verify: %.0f us; heap kept after it: %d bytes" % (first, kept))
print("verify, 60-byte message: mean %.0f us, best run %.0f us" % (sum(runs) / len(runs), min(runs)))
print("verify, 4096-byte message: mean %.0f us, best run %.0f us" % (sum(longs) / len(longs), min(longs)))
print("reject (bad S, early y check, no inversion): mean %.0f us" % rej)
print("sha512: %.0f us per 128-byte block (%.0f KB/s)" % (min(v) / 33, 4096 / min(v) * 1000000 / 1024))
"""


# What ships: the .mpy tree of `upile build` (make bench builds first); else the sources.
LIB = ROOT / "build" / "x64" / "lib"
if not (LIB / "ed25519.mpy").exists():
    LIB = ROOT / "lib"


def run(args, heap):
    env = dict(os.environ, MICROPYPATH=str(LIB))
    return subprocess.run([micropython_bin(), "-X", "heapsize=%s" % heap, "-c", SCRIPT] + args,
                          env=env, capture_output=True, text=True, timeout=300)


def main():
    key = ed25519.Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    short, long = b"upile" * 12, bytes(range(256)) * 16
    args = [pub.hex(), key.sign(short).hex(), key.sign(long).hex()]
    p = run(args + ["time"], "256K")
    if p.returncode:
        sys.exit("bench failed:\n" + p.stdout + p.stderr)
    print(p.stdout, end="")
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
          " %.1f KB of that is the interpreter and the imported modules (%s), so verify's own peak is %.1f KB"
          % (hi, code / 1024, LIB.relative_to(ROOT), hi - code / 1024))


if __name__ == "__main__":
    main()
