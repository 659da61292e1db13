"""OCPP part 2 figures: the heap of an OCPP-driven signed update (docs/ocpp.md "Part 2").

Prints figures only (no asserts). Real processes: a CPython release server on loopback and
`micropython` running one update (tests/host/ota_mem.py as .mpy, the app's modules as `upile
build`'s .mpy files loaded into the heap) with and without the whitepaper's signature over
the manifest (RSA-2048 PSS, ECDSA P-256: firmware/ota/extsig.py, after the download):
the peak live heap at -X heapsize=64K and the smallest heap in which the update completes
(1 KB steps). Log upload throughput is not measured: GetLog/GetDiagnostics are not built yet.
"""
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests"), str(ROOT / "tests" / "host")]

import test_ocpp_fw_memory as fm  # noqa: E402


def _run(tmp, mode, kind, heap):
    tmp.mkdir(parents=True)
    if kind is None:
        keep = fm._spec
        fm._spec = lambda t, k, good: None
        try:
            return fm.run(tmp, "rsa", heap=heap, mode=mode)
        finally:
            fm._spec = keep
    return fm.run(tmp, kind, heap=heap, mode=mode)


def figures(tmp, mode, kind):
    p = _run(tmp / "at64", mode, kind, "64K")
    ok = p.returncode == 0
    peak = int(re.search(r"peak_heap (\d+)", p.stdout).group(1)) if ok else None
    marks = dict((a, int(b)) for a, b in re.findall(r"^mark (.+) (\d+)$", p.stdout, re.M))
    lo, hi, n = 40, 96, 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        n += 1
        good = _run(tmp / ("h%d" % n), mode, kind, "%dK" % mid).returncode == 0
        lo, hi = (lo, mid) if good else (mid, hi)
    return ok, peak, hi, marks


def main():
    print("OCPP-driven signed update, OTA part (tests/host/ota_mem.py, micropython -X heapsize=N, "
          ".mpy modules loaded into the heap)")
    with tempfile.TemporaryDirectory(prefix="ocpp-sec-") as d:
        d = Path(d)
        for mode, what in (("image", "1.5 MB image"), ("app", "%d-file app" % fm.APP_FILES)):
            for kind, name in ((None, "no OCPP signature"), ("rsa", "RSA-2048 PSS"), ("ec", "ECDSA P-256")):
                ok, peak, hi, marks = figures(d / ("%s-%s" % (mode, kind)), mode, kind)
                extra = ""
                if kind is not None and "ocpp signature checked" in marks:
                    extra = "; live heap after the signature check %d bytes" % marks["ocpp signature checked"]
                print("%s, %s: at 64K %s, peak live heap %s bytes; completes in -X heapsize=%dK and up%s"
                      % (what, name, "completes" if ok else "FAILS", peak if peak else "-", hi, extra))


if __name__ == "__main__":
    main()
