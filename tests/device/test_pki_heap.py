# heapsize: 64K
# The OTA signature step fits the OTA engine's 64K heap bound (docs/ota.md "Memory") with
# only the crypto loaded, compiled from source in that heap, and keeps nothing: the firmware
# file is never in RAM (hashlib.sha256 takes it as it streams) and only its digest is
# verified, with the key kept from the certificate check. The certificate check and CSR
# (x509, der: too large to compile from source in 64K) are measured as built .mpy files by
# tests/host/test_pki_memory.py and bench/pki.py.
import gc
import sys
from binascii import unhexlify
from hashlib import sha256

import pkivec


def _firmware_digest():
    h = sha256()
    piece = bytearray(512)
    for i in range(0, 3000, 512):  # as the download loop hashes: one reused buffer
        n = min(512, 3000 - i)
        for j in range(n):
            piece[j] = (i + j) * 7 & 255
        h.update(memoryview(piece)[:n])
    return h.digest()


def _vectors():
    sigs, keys = {}, {}
    for f in pkivec.lines("x509_fw_sigs.txt"):
        if f[0] == "key":
            keys[f[1]] = (int(f[3], 16), int(f[4], 16))
        else:
            sigs[f[1]] = unhexlify(f[2])
    return sigs, keys


def _rsa_step(keys, sigs, digest):
    import rsa

    n, e = keys["fw_pss"]
    ok = rsa.verify_pss(n, e, digest, sigs["pss32"]) and rsa.verify_pss(n, e, digest, sigs["pssmax"], None)
    ok = ok and rsa.verify_pkcs1(n, e, digest, sigs["pkcs1"]) and not rsa.verify_pss(n, e, digest, sigs["pkcs1"])
    del sys.modules["rsa"]
    return ok


def _ec_step(keys, sigs, digest):
    import p256

    x, y = keys["fw_ec"]
    ok = p256.verify(x, y, digest, sigs["ecdsa"]) and not p256.verify(x, y, sha256(digest).digest(), sigs["ecdsa"])
    del sys.modules["p256"]
    return ok


def test_signature_step_fits_and_keeps_nothing():
    sigs, keys = _vectors()
    digest = _firmware_digest()
    assert _rsa_step(keys, sigs, digest) and _ec_step(keys, sigs, digest)  # first: compiles them
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(3):
        assert _rsa_step(keys, sigs, digest)
        assert _ec_step(keys, sigs, digest)
    gc.collect()
    grown = gc.mem_alloc() - before
    assert grown < 256, grown
