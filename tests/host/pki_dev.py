# Device side of tests/host/test_pki_host.py and test_pki_fuzz.py: runs inside micropython
# on the lib/ sources. argv[1]: a file of cases, one JSON list per line (streamed: together
# they would not fit the heap); prints one verdict line per case:
#   ["rsa", mode, n_hex, e_hex, digest_hex, sig_hex, salt]  mode pss|pkcs1 -> True/False
#   ["ec", x_hex, y_hex, digest_hex, sig_hex]                                 -> True/False
#   ["root", name, der_hex]        -> "root", or the PKIError reason
#   ["cert", root, der_hex, now]   -> "ok" (parsed and issued by root), or the reason
#   ["pem", text]                  -> "pem <n blocks> <sha256 of their DER, hex>", or the reason
#   ["csr", d_hex, cpo, serial]    -> "csr <spki hex> <PEM as hex>", or the reason
#   ["sign", d_hex, digest_hex]    -> "sig <DER hex>"
#   ["gen"]                        -> "gen <d hex> <spki hex> <EC PRIVATE KEY PEM as hex>"
# Any exception other than PKIError prints "ESCAPED <type> <repr>": the tests fail on it.
import binascii
import gc
import json
import sys
from hashlib import sha256

import csr
import eckey
import p256
import pem
import rsa
import x509
from der import PKIError

u = binascii.unhexlify
h = binascii.hexlify
roots = {}


def one(c):
    k = c[0]
    if k == "rsa":
        n, e, dg, sig = int(c[2], 16), int(c[3], 16), u(c[4]), u(c[5])
        if c[1] == "pss":
            return rsa.verify_pss(n, e, dg, sig, c[6])
        return rsa.verify_pkcs1(n, e, dg, sig)
    if k == "ec":
        return p256.verify(int(c[1], 16), int(c[2], 16), u(c[3]), u(c[4]))
    if k == "root":
        roots[c[1]] = x509.parse(u(c[2]))
        return "root"
    if k == "cert":
        x509.check_issued(x509.parse(u(c[2])), roots[c[1]], c[3])
        return "ok"
    if k == "pem":
        blocks = list(pem.blocks(c[1]))
        d = sha256()
        for b in blocks:
            d.update(b)
        return "pem %d %s" % (len(blocks), h(d.digest()).decode())
    if k == "csr":
        d = u(c[1])
        x, y = eckey.public_point(d)
        return "csr %s %s" % (h(eckey.spki(x, y)).decode(), h(csr.build(d, c[2], c[3])).decode())
    if k == "sign":
        return "sig " + h(eckey.sign(u(c[1]), u(c[2]))).decode()
    if k == "gen":
        d = eckey.generate()
        x, y = eckey.public_point(d)
        return "gen %s %s %s" % (h(d).decode(), h(eckey.spki(x, y)).decode(), h(eckey.private_pem(d, (x, y))).decode())
    return "unknown case"


with open(sys.argv[1]) as f:
    for line in f:
        c = json.loads(line)
        line = None
        try:
            print(one(c))
        except PKIError as e:
            print(e.reason if isinstance(e.reason, str) and isinstance(e.detail, str) else "BADREASON")
        except MemoryError:
            print("MEMORYERROR")
        except Exception as e:  # noqa: BLE001 - the test's point: nothing but PKIError escapes
            print("ESCAPED", type(e).__name__, repr(e)[:100])
        c = None
        gc.collect()
