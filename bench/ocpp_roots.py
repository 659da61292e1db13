"""The CSMS roots of a TLS handshake (docs/ocpp.md "Part 2: certificates"): what `ocpp.ca`
plus N installed CentralSystemRootCertificates cost. The pile's own `certs.csms_roots` and
`netconn.tls_context` run under `micropython` (`upile build`'s .mpy), a real wss:// handshake
against a Python ssl server whose certificate comes from the LAST root loaded, for N = 0..4
(the store's bound), P-256 and RSA-2048 roots. Figures: the MicroPython heap held by the
context, what building it allocates, garbage included (the generator reads one root at a time), and
mbedTLS's own heap per context (glibc malloc on the Unix port; the IDF heap on an ESP32, whose
32-bit structures are smaller): the process's resident growth over 100 contexts kept alive.
Prints labelled figures. Usage: .venv/bin/python bench/ocpp_roots.py
"""
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests"), str(ROOT)]

from mpy import micropython_bin  # noqa: E402
from upile.cmd_build import build  # noqa: E402
from upile.csms import pki  # noqa: E402

KEEP = 100  # contexts kept alive for the mbedTLS heap figure (each ~3 KB of MicroPython heap too)

CLIENT = r'''
import gc, socket, sys, tls
import netconn
from firmware.proto.ocpp import certs
ca, d, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
o = {"ca": ca}
class E(Exception):
    pass
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
sizes = [len(x) for x in certs.csms_roots(o, d)]
# the Python heap: held by a context, and the largest step while it is built
gc.collect(); m0 = gc.mem_alloc()
ctx = netconn.tls_context(certs.csms_roots(o, d), E)
m1 = gc.mem_alloc()
gc.collect(); m2 = gc.mem_alloc()
s = socket.socket(); s.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
t = ctx.wrap_socket(s, server_hostname="localhost")
ok = t.read(5) == b"hello"
t.close()
# mbedTLS's heap: KEEP contexts with these roots alive
gc.collect(); r0 = rss()
keep = [netconn.tls_context(certs.csms_roots(o, d), E) for _ in range(%(keep)d)]
r1 = rss()
keep = None
print("ROOTS", len(sizes), "DER", max(sizes), "HELD", m2 - m0, "STEP", m1 - m0)
print("C", (r1 - r0) // %(keep)d, "OK", int(ok))
''' % {"keep": KEEP}


def serve(ctx):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)

    def run():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            try:
                t = ctx.wrap_socket(c, server_side=True)
                t.sendall(b"hello")
                t.close()
            except (OSError, ssl.SSLError):
                c.close()

    threading.Thread(target=run, daemon=True).start()
    return s


def rsa_pki(d):
    """pki.make's layout with RSA-2048 roots (pki.make is P-256)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    real = pki.ec.generate_private_key
    pki.ec.generate_private_key = lambda curve: rsa.generate_private_key(65537, 2048)
    try:
        return pki.make(d, host="localhost", cp_serials=())
    finally:
        pki.ec.generate_private_key = real


def main():
    lib = build("x64")
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        script = tmp / "roots.py"
        script.write_text(CLIENT)
        env = dict(os.environ, MICROPYPATH=".frozen:%s:%s" % (lib / "lib", lib))
        for kind, make in (("P-256", lambda d: pki.make(d, host="localhost", cp_serials=())), ("RSA-2048", rsa_pki)):
            roots = [make(tmp / ("%s%d" % (kind, i))) for i in range(5)]
            for n in range(5):  # ocpp.ca + n installed
                store = tmp / ("store-%s-%d" % (kind, n))
                store.mkdir()
                for i in range(n):
                    (store / ("C%d.der" % i)).write_bytes(roots[i + 1]["ca"].read_bytes())
                srv = serve(pki.server_context(roots[n]))  # the last root loaded signs the server
                try:
                    p = subprocess.run([micropython_bin(), "-X", "heapsize=1M", str(script), str(roots[0]["ca"]),
                                        str(store), str(srv.getsockname()[1])], env=env, capture_output=True,
                                       text=True, timeout=300)
                finally:
                    srv.close()
                f = dict(re.findall(r"([A-Z]+) (-?\d+)", p.stdout))
                if p.returncode or f.get("OK") != "1":
                    raise SystemExit("bench/ocpp_roots: failed:\n" + p.stdout[-2000:] + p.stderr[-2000:])
                print("%-8s ocpp.ca + %d installed (%s roots, largest DER %s B): handshake OK with the last; "
                      "MicroPython heap held by the context %s B, allocated while building it (garbage included) %s B; "
                      "mbedTLS heap per context ~%s B (64-bit glibc, mean of %d)"
                      % (kind, n, f["ROOTS"], f["DER"], f["HELD"], f["STEP"], f["C"], KEEP))


if __name__ == "__main__":
    main()
