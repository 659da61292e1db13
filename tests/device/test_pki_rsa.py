# RSA signature verification (lib/rsa.py) against Wycheproof vectors (tests/device/vectors/,
# subsets named in each file's header) and its key and argument rules, inside micropython.
from hashlib import sha256

import rsa
import pkivec


def _wycheproof(name, check):
    """Runs every T line with the key of the K line above it; returns (tests, results seen).
    An "acceptable" vector must get the verdict docs/pki.md promises (returned in bad if not)."""
    key = None
    bad = []
    n = 0
    seen = set()
    for f in pkivec.lines(name):
        if f[0] == "K":
            key = (int(f[1], 16), int(f[2], 16), None if f[3] == "-" else int(f[3]))
            continue
        tc, result, msg, sig = f[1], f[2], pkivec.hexb(f[3]), pkivec.hexb(f[4])
        got = check(key, sha256(msg).digest(), sig)
        want = result == "v"  # invalid and acceptable: refused (strict; docs/pki.md)
        if got is not want:
            bad.append((tc, result, f[5], got))
        n += 1
        seen.add(result)
    return n, seen, bad


def _pss(key, digest, sig):
    return rsa.verify_pss(key[0], key[1], digest, sig, key[2])


def _pkcs1(key, digest, sig):
    return rsa.verify_pkcs1(key[0], key[1], digest, sig)


def test_pss_2048_wycheproof():
    n, seen, bad = _wycheproof("wycheproof_rsa_pss_2048_sha256_mgf1_32.txt", _pss)
    assert not bad, bad
    assert n == 15 and seen == {"v", "i"}, (n, seen)


def test_pss_4096_wycheproof():
    n, seen, bad = _wycheproof("wycheproof_rsa_pss_4096_sha256_mgf1_32.txt", _pss)
    assert not bad, bad
    assert n == 5 and seen == {"v", "i"}, (n, seen)


def test_pss_salt_lengths_exact_auto_and_wrong():
    # Wycheproof rsa_pss_misc: one key, salts of 0, 20, 28, 32, 48 and 64 bytes
    n = 0
    for f in pkivec.lines("wycheproof_rsa_pss_misc_sha256.txt"):
        if f[0] == "K":
            nn, e, slen = int(f[1], 16), int(f[2], 16), int(f[3])
            continue
        digest = sha256(pkivec.hexb(f[3])).digest()
        sig = pkivec.hexb(f[4])
        assert f[2] == "v"
        assert rsa.verify_pss(nn, e, digest, sig, slen), slen
        assert rsa.verify_pss(nn, e, digest, sig, None), slen  # "auto" finds it
        assert not rsa.verify_pss(nn, e, digest, sig, slen + 1), slen
        if slen:
            assert not rsa.verify_pss(nn, e, digest, sig, slen - 1), slen
        assert not rsa.verify_pss(nn, e, sha256(b"other").digest(), sig, None)
        n += 1
    assert n == 6


def test_pkcs1_2048_wycheproof():
    n, seen, bad = _wycheproof("wycheproof_rsa_pkcs1_2048_sha256.txt", _pkcs1)
    assert not bad, bad
    assert n == 33 and seen == {"v", "i", "a"}, (n, seen)


def test_pkcs1_4096_wycheproof():
    n, seen, bad = _wycheproof("wycheproof_rsa_pkcs1_4096_sha256.txt", _pkcs1)
    assert not bad, bad
    assert n == 12 and seen == {"v", "i", "a"}, (n, seen)


def _first_valid(name):
    key = None
    for f in pkivec.lines(name):
        if f[0] == "K":
            key = (int(f[1], 16), int(f[2], 16))
        elif f[2] == "v":
            return key, sha256(pkivec.hexb(f[3])).digest(), pkivec.hexb(f[4])


def test_bit_length():
    for v in (1, 2, 3, 255, 256, 2**2047, 2**2048 - 1, 2**4096):
        want = len(bin(v)) - 2
        assert rsa.bit_length(v) == want, v
    assert rsa.bit_length(0) == 0


def test_key_rules():
    odd = lambda bits: (1 << (bits - 1)) | 1  # noqa: E731
    assert rsa.key_ok(odd(2048), 65537)
    assert rsa.key_ok(odd(4096), 3)
    assert not rsa.key_ok(odd(2047), 65537)  # the whitepaper's floor
    assert not rsa.key_ok(odd(4097), 65537)  # our ceiling: time is bounded
    assert not rsa.key_ok(odd(2048) + 1, 65537)  # even modulus
    for e in (1, 2, 65536, 2**32 + 1, -3):
        assert not rsa.key_ok(odd(2048), e), e
    assert not rsa.key_ok("n", 65537) and not rsa.key_ok(odd(2048), 65537.0)


def test_malformed_arguments_are_refused_never_raised():
    (n, e), digest, sig = _first_valid("wycheproof_rsa_pss_2048_sha256_mgf1_32.txt")
    assert rsa.verify_pss(n, e, digest, sig)
    for args in (
        (n, e, digest, sig[1:]),  # short signature
        (n, e, digest, b"\0" + sig),  # long signature
        (n, e, digest, (n + 1).to_bytes(256, "big")),  # s >= n
        (n, e, digest, n.to_bytes(256, "big")),
        (n, e, digest[:31], sig),
        (n, e, digest + b"\0", sig),
        (n, e, None, sig),
        (n, e, digest, None),
        (n, e, digest, "text"),
        (n, e, digest, [1, 2, 3]),
        (n, e + 2, digest, sig),  # another exponent
        (n - 2, e, digest, sig),  # another modulus
        (n >> 1, e, digest, sig[1:]),
        (None, e, digest, sig),
    ):
        assert rsa.verify_pss(*args) is False
        assert rsa.verify_pkcs1(*args) is False
    for salt in (-1, "32", 1000, 223):
        assert rsa.verify_pss(n, e, digest, sig, salt) is False, salt
    assert rsa.verify_pss(n, e, bytearray(digest), bytearray(sig))
    assert rsa.verify_pss(n, e, memoryview(digest), memoryview(sig))


def test_pkcs1_and_pss_do_not_accept_each_other():
    (n, e), digest, sig = _first_valid("wycheproof_rsa_pss_2048_sha256_mgf1_32.txt")
    assert not rsa.verify_pkcs1(n, e, digest, sig)
    (n, e), digest, sig = _first_valid("wycheproof_rsa_pkcs1_2048_sha256.txt")
    assert rsa.verify_pkcs1(n, e, digest, sig)
    assert not rsa.verify_pss(n, e, digest, sig, None)
