# One PKI operation in a small heap: tests/host/test_pki_memory.py and bench/pki.py run this,
# compiled to .mpy, as `micropython -X heapsize=64K -m pki_mem OP DATA ROUNDS THRESHOLD` with
# MICROPYPATH = this .mpy's folder and the `upile build` lib/ tree (bytecode loaded into the
# heap as from a slot). THRESHOLD: gc.threshold() while it runs, 4096 as the OTA service
# sets it (docs/ota.md "Memory"), 0 to leave the default (collect only when the heap is full).
# DATA: lines "<name> <hex>" (tests/host/test_pki_memory.py writes it). Prints
# "import <bytes>" (the modules OP loads, counted after a first run: x509 loads rsa or
# p256 when it verifies), "kept <bytes>" (live heap ROUNDS more runs leave, after a
# collection), "us <median microseconds of those runs>", "best <the fastest>", then "ok".
import gc
import sys
import time
from binascii import unhexlify

op, datafile, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
if int(sys.argv[4]):
    gc.threshold(int(sys.argv[4]))
NEEDS = {"rsa_pss": ("rsa_n", "rsa_e", "sig_pss"), "rsa_v15": ("rsa_n", "rsa_e", "sig_v15"),
         "rsa_pss_4096": ("big_n", "big_e", "sig_big"), "ecdsa": ("ec_x", "ec_y", "sig_ec"),
         "sign": ("ec_d",), "csr": ("ec_d",)}
data = {}
with open(datafile) as f:
    for line in f:  # only what this operation uses: the rest is not the operation's memory
        k, v = line.split()
        if k == "digest" or k.startswith(op + "_") or k in NEEDS.get(op, ()):
            data[k] = unhexlify(v)
line = f = k = v = None
NOW = 1798761600


def num(k):
    return int.from_bytes(data[k], "big")


def run():
    if op == "rsa_pss":
        return rsa.verify_pss(num("rsa_n"), num("rsa_e"), data["digest"], data["sig_pss"])
    if op == "rsa_pss_4096":
        return rsa.verify_pss(num("big_n"), num("big_e"), data["digest"], data["sig_big"])
    if op == "rsa_v15":
        return rsa.verify_pkcs1(num("rsa_n"), num("rsa_e"), data["digest"], data["sig_v15"])
    if op == "ecdsa":
        return p256.verify(num("ec_x"), num("ec_y"), data["digest"], data["sig_ec"])
    if op.startswith("chain_"):
        # the signing certificate comes as PEM (decoded by lib/pem, then dropped); the
        # installed root is kept as DER
        import pem

        leaf = next(pem.blocks(data[op + "_leaf"]))
        del sys.modules["pem"]
        pem = None
        x509.check_issued(x509.parse(leaf), x509.parse(data[op + "_root"]), NOW)
        return True
    if op == "keygen":
        return len(eckey.public_point(eckey.generate())) == 2
    if op == "sign":
        return len(eckey.sign(data["ec_d"], data["digest"])) > 8
    if op == "csr":
        return csr.build(data["ec_d"], "ACME Charging", "PILE-0042").startswith(b"-----BEGIN")


gc.collect()
before = gc.mem_alloc()
if op.startswith("rsa"):
    import rsa
elif op == "ecdsa":
    import p256
elif op.startswith("chain_"):
    import x509
elif op == "csr":
    import csr
else:
    import eckey
if not run():
    print("wrong verdict")
    sys.exit(1)
gc.collect()
print("import", gc.mem_alloc() - before)
base = gc.mem_alloc()
times = []
for _ in range(rounds):
    t = time.ticks_us()
    if not run():
        print("wrong verdict")
        sys.exit(1)
    times.append(time.ticks_diff(time.ticks_us(), t))
gc.collect()
print("kept", gc.mem_alloc() - base)
times.sort()
print("us", times[len(times) // 2])
print("best", times[0])
print("ok")
