# Damaged certificates inside micropython (lib/x509, der, pem): 600 mutants of the fixtures
# (fixed seed: a failure reproduces) each end in a PKIError or, when the damage missed the
# signed bytes, pass with those bytes intact; never another exception. The larger fuzz,
# compared with cryptography, is tests/host/test_pki_fuzz.py.
import pem
import pkivec
import x509
from der import PKIError
from prng import XorShift

NOW = 1798761600


def _der(name):
    return bytes(next(pem.blocks(pkivec.cert_pem(name))))


def _mutate(rnd, d):
    b = bytearray(d)
    what = rnd.below(5)
    i = rnd.below(len(b))
    if what == 0:
        b[i] ^= 1 << rnd.below(8)
    elif what == 1:
        b[i] = rnd.below(256)
    elif what == 2:
        b = b[:i]
    elif what == 3:
        b = b[:i] + rnd.bytes(1 + rnd.below(3)) + b[i:]
    else:
        b = b[:i] + b[i + 1 + rnd.below(20):]
    return bytes(b)


def test_mutants_fail_cleanly_or_keep_the_signed_bytes():
    rnd = XorShift(690)
    pairs = [("fw_pss", "root_rsa"), ("fw_v15", "root_rsa"), ("fw_ec", "root_ec")]
    roots = {r: x509.load_pem(pkivec.cert_pem(r))[0] for _, r in pairs}
    reasons = {}
    passed = 0
    for k in range(600):
        leaf, root = pairs[k % 3]
        d = _der(leaf)
        good_tbs = bytes(x509.parse(d)["tbs"])
        m = _mutate(rnd, d)
        try:
            c = x509.parse(m)
            x509.check_issued(c, roots[root], NOW)
        except PKIError as e:
            assert isinstance(e.reason, str) and isinstance(e.detail, str)
            reasons[e.reason] = reasons.get(e.reason, 0) + 1
            continue
        assert bytes(c["tbs"]) == good_tbs, k  # accepted only with the signed bytes intact
        passed += 1
    assert len(reasons) >= 8, reasons
    assert reasons.get("bad_signature", 0) > 30, reasons


def test_random_bytes():
    rnd = XorShift(7)
    for n in (0, 1, 2, 5, 64, 700, 3000):
        for _ in range(20):
            try:
                x509.parse(rnd.bytes(n))
            except PKIError:
                pass
            else:
                raise AssertionError(n)
