"""OCPP part 2 figures: the heap of an OCPP-driven signed update (docs/ocpp.md "Part 2").

Prints figures only (no asserts). Real processes: a CPython release server on loopback and
`micropython` running one update (tests/host/ota_mem.py as .mpy, the app's modules as `upile
build`'s .mpy files loaded into the heap) with and without the whitepaper's signature over
the manifest (RSA-2048 PSS, ECDSA P-256: firmware/ota/extsig.py, after the download):
the peak live heap at -X heapsize=64K and the smallest heap in which the update completes
(1 KB steps). Then GetLog's upload throughput: a sim pile (the compiled app on the sim board)
whose persistent log's older file holds ~8 KB (its ring's size) uploads it by HTTP PUT to a loopback server,
timed by the pile itself ("log uploaded: N bytes in M ms") and from the CSMS's GetLog to the
Uploaded notification.
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


def log_upload():
    import time

    import test_ocpp_logs as tl
    from ocppsim import OcppPile
    from upile.csms import Csms

    srv = tl.Server()
    try:
        with Csms() as c:
            now = int(time.time())
            old = "".join("%d I bench: an older line of the persistent log, number %05d\n" % (now - 9000 + i, i)
                          for i in range(130))  # ~8 KB: the log ring's older file (lib/log.py)
            with OcppPile(c, "LB1", files={"/data/log/log.1": old.encode()}) as pile:
                t0 = time.monotonic()
                c.call("LB1", "GetLog", {"logType": "DiagnosticsLog", "requestId": 1, "log": {"remoteLocation": srv.url}})
                c.wait(lambda: "Uploaded" in tl._statuses(pile, "LogStatusNotification", 1), 60, "Uploaded")
                wall = time.monotonic() - t0
                m = re.findall(r"log uploaded: (\d+) bytes in (\d+) ms", pile.console())[-1]
                n, ms = int(m[0]), int(m[1])
                print("GetLog upload (sim board, loopback HTTP PUT, 1 KiB pieces): %d bytes in %d ms on the pile "
                      "(%.0f KB/s), %.0f ms from GetLog to Uploaded at the CSMS" % (n, ms, n / max(ms, 1), wall * 1000))
    finally:
        srv.close()


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
    log_upload()


if __name__ == "__main__":
    main()
