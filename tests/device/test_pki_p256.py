# ECDSA P-256 with SHA-256 (lib/p256.py verify, lib/eckey.py keys and signing) against
# Wycheproof, NIST CAVP and RFC 6979 vectors (tests/device/vectors/), inside micropython.
from binascii import unhexlify as u
from hashlib import sha256

import der
import eckey
import p256
import pem as pem_mod
import pkivec
from prng import XorShift

N = p256.N


def test_wycheproof_ecdsa():
    key = None
    bad = []
    seen = {}
    for f in pkivec.lines("wycheproof_ecdsa_p256_sha256.txt"):
        if f[0] == "K":
            key = (int(f[1], 16), int(f[2], 16))
            assert p256.on_curve(*key)
            continue
        got = p256.verify(key[0], key[1], sha256(pkivec.hexb(f[3])).digest(), pkivec.hexb(f[4]))
        if got is not (f[2] == "v"):
            bad.append((f[1], f[2], f[5], got))
        seen[f[2]] = seen.get(f[2], 0) + 1
    assert not bad, bad
    assert seen == {"v": 36, "i": 58}, seen  # no "acceptable" vectors in this file


def test_nist_sigver():
    verdicts = []
    for f in pkivec.lines("nist_p256_sha256.txt"):
        if f[0] != "V":
            continue
        x, y, r, s = (int(v, 16) for v in f[2:6])
        got = p256.verify_rs(x, y, sha256(u(f[1])).digest(), r, s)
        assert got is (f[6] == "P"), f[6:]
        verdicts.append(got)
    assert len(verdicts) == 15 and verdicts.count(True) == 3


def test_nist_siggen_keys_and_signatures_with_their_k():
    n = 0
    for f in pkivec.lines("nist_p256_sha256.txt"):
        if f[0] != "G":
            continue
        digest, d = u(f[1]), u(f[2])
        qx, qy, k, r, s = (int(v, 16) for v in f[3:8])
        assert eckey.public_point(d) == (qx, qy)
        assert eckey.sign_rs(d, digest, nonce=k) == (r, s)
        assert p256.verify_rs(qx, qy, digest, r, s)
        n += 1
    assert n == 10


# RFC 6979 A.2.5: P-256, private key x, SHA-256 signatures of "sample" and "test"
RFC6979_X = u("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721")
RFC6979_U = (0x60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6,
             0x7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299)
RFC6979_SIGS = (
    (b"sample", 0xEFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716,
     0xF7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8),
    (b"test", 0xF1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367,
     0x019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083),
)


def test_rfc6979_deterministic_signatures():
    assert eckey.public_point(RFC6979_X) == RFC6979_U
    for msg, r, s in RFC6979_SIGS:
        digest = sha256(msg).digest()
        assert eckey.sign_rs(RFC6979_X, digest) == (r, s), msg
        sig = eckey.sign(RFC6979_X, digest)
        assert p256.decode_sig(sig) == (r, s)
        assert sig == eckey.sign(RFC6979_X, digest)  # deterministic
        assert p256.verify(RFC6979_U[0], RFC6979_U[1], digest, sig)
        assert not p256.verify(RFC6979_U[0], RFC6979_U[1], sha256(msg + b".").digest(), sig)


def test_generated_keys_sign_and_verify():
    rnd = XorShift(6979)
    for i in range(4):
        d = eckey.generate(rnd.bytes)
        assert len(d) == 32 and 0 < int.from_bytes(d, "big") < N
        x, y = eckey.public_point(d)
        assert p256.on_curve(x, y)
        digest = sha256(b"firmware %d" % i).digest()
        sig = eckey.sign(d, digest)
        assert p256.verify(x, y, digest, sig)
        assert not p256.verify(x, y, sha256(b"firmware").digest(), sig)
        bad = bytearray(sig)
        bad[-1] ^= 1
        assert not p256.verify(x, y, digest, bad)


def test_generate_draws_again_when_the_number_is_out_of_range():
    draws = [bytes(32), N.to_bytes(32, "big"), b"\xff" * 32, (N - 1).to_bytes(32, "big")]
    taken = []

    def rand(n):
        taken.append(n)
        return draws[len(taken) - 1]

    assert eckey.generate(rand) == (N - 1).to_bytes(32, "big")
    assert taken == [32] * 4


def test_private_key_rules():
    for d in (bytes(32), N.to_bytes(32, "big"), b"\x01" * 31, b"\x01" * 33, None, "x" * 32):
        try:
            eckey.sign(d, bytes(32))
        except der.PKIError as e:
            assert e.reason == "bad_key", e.reason
        else:
            raise AssertionError(d)
    try:
        eckey.sign(RFC6979_X, bytes(31))
    except der.PKIError as e:
        assert e.reason == "bad_digest"
    else:
        raise AssertionError


def test_edge_keys_q_equal_to_g_and_minus_g():
    # d = 1: Q = G, so a step adding G + Q doubles; d = n - 1: Q = -G, and G + Q is infinity
    for d in (1, N - 1, 2):
        k = d.to_bytes(32, "big")
        x, y = eckey.public_point(k)
        if d == 1:
            assert (x, y) == (p256.GX, p256.GY)
        if d == N - 1:
            assert (x, y) == (p256.GX, p256.P - p256.GY)
        for m in (b"a", b"b", b"c", b"d"):
            digest = sha256(m).digest()
            assert p256.verify(x, y, digest, eckey.sign(k, digest)), (d, m)
    # u1 = u2 with Q = G: every step adds G + Q = 2G
    x, y = p256.GX, p256.GY
    # digest = r and s = r make u1 = z/s = 1 and u2 = r/s = 1: R = G + Q = 2G, so the
    # signature holds when r = x(2G) mod n
    two_g = p256.affine(*p256.mul2(2, 0, 0, 0))
    r = two_g[0] % N
    assert p256.verify_rs(x, y, r.to_bytes(32, "big"), r, r)
    assert not p256.verify_rs(x, y, (r + 1).to_bytes(32, "big"), r, r)


def test_scalar_multiples_agree():
    # (a + b) G computed three ways: a*G + b*G (Shamir with Q = b*G), (a+b)*G, and b*(a*G)/b
    a, b = 0x1234567890ABCDEF << 100, N - 5
    bg = p256.affine(*p256.mul2(b, 0, 0, 0))
    one = p256.affine(*p256.mul2(a, 1, bg[0], bg[1]))
    two = p256.affine(*p256.mul2((a + b) % N, 0, 0, 0))
    assert one == two
    assert p256.mul2(N, 0, 0, 0)[2] == 0  # n G is the point at infinity
    assert p256.affine(0, 1, 0) is None


def test_points_are_validated():
    x, y = RFC6979_U
    enc = p256.encode_point(x, y)
    assert enc[0] == 4 and len(enc) == 65
    assert p256.decode_point(enc) == (x, y)
    # compressed forms decode to the same point (both parities)
    assert p256.decode_point(bytes([2 + (y & 1)]) + enc[1:33]) == (x, y)
    nx, ny = p256.GX, p256.P - p256.GY
    assert p256.decode_point(bytes([2 + (ny & 1)]) + enc_x(nx)) == (nx, ny)
    for bad in (
        b"\x04" + enc[1:64] + bytes([enc[64] ^ 1]),  # off the curve
        b"\x04" + p256.P.to_bytes(32, "big") + enc[33:],  # x >= p
        b"\x04" + enc_x(x) + (y + p256.P).to_bytes(33, "big")[1:],  # y + p does not fit: wrong length
        b"\x05" + enc[1:],
        b"\x00",  # the point at infinity
        b"",
        enc[:64],
        b"\x02" + p256.P.to_bytes(32, "big"),
        b"\x02" + enc_x(1),  # 1 - 3 + b is not a square mod p: no point has x = 1
    ):
        assert p256.decode_point(bad) is None, bad
    assert not p256.on_curve(x, y + p256.P)  # non-reduced coordinates
    assert not p256.on_curve(0, 0)
    digest = sha256(b"sample").digest()
    r, s = RFC6979_SIGS[0][1:]
    assert p256.verify_rs(x, y, digest, r, s)
    assert not p256.verify_rs(x, y ^ 1, digest, r, s)
    assert not p256.verify_rs(x, y + p256.P, digest, r, s)


def enc_x(v):
    return v.to_bytes(32, "big")


def test_signature_encoding_is_strict_der():
    x, y = RFC6979_U
    digest = sha256(b"sample").digest()
    r, s = RFC6979_SIGS[0][1:]
    good = eckey.encode_sig(r, s)
    assert good[:4] == b"\x30\x46\x02\x21"  # r has its top bit set: a leading zero
    assert p256.verify(x, y, digest, good)
    rb, sb = r.to_bytes(32, "big"), s.to_bytes(32, "big")
    ri = b"\x02\x21\x00" + rb
    si = b"\x02\x21\x00" + sb
    for bad in (
        b"\x30\x46" + ri + si + b"\x00",  # trailing byte inside the caller's buffer
        b"\x30\x47" + ri + si + b"\x00",  # trailing byte inside the sequence
        b"\x30\x81\x46" + ri + si,  # long form for a short length (BER)
        b"\x30\x80" + ri + si + b"\x00\x00",  # indefinite length
        b"\x30\x45\x02\x20" + rb + si,  # r without its leading zero: negative
        b"\x30\x47\x02\x22\x00\x00" + rb + si,  # a needless leading zero
        b"\x30\x46" + si + ri,  # swapped
        b"\x31\x46" + ri + si,  # a SET
        b"\x30\x23" + ri,  # s missing
        b"",
        b"\x30",
        good[:-1],
        b"\x30\x06\x02\x01\x00\x02\x01\x01",  # r = 0
        b"\x30\x06\x02\x01\x01\x02\x01\x00",  # s = 0
    ):
        assert not p256.verify(x, y, digest, bad), bad
    assert not p256.verify(x, y, digest, None)
    assert not p256.verify(x, y, digest[:31], good)
    assert not p256.verify(x, y, "digest" * 6, good)
    for rr, ss in ((0, s), (r, 0), (N, s), (r, N), (r + N, s), (r, s + N), (-r, s), (r, -s), (r, None)):
        assert not p256.verify_rs(x, y, digest, rr, ss)
    # high s (n - s) is a valid ECDSA signature too: accepted, as ECDSA (not Bitcoin) allows
    assert p256.verify_rs(x, y, digest, r, N - s)
    # small values encode minimally
    assert eckey.encode_sig(1, 0x80) == b"\x30\x07\x02\x01\x01\x02\x02\x00\x80"


def test_key_encodings():
    x, y = RFC6979_U
    spki = eckey.spki(x, y)
    assert len(spki) == 91
    s, e = der.expect(spki, 0, 91, der.SEQUENCE)
    a_s, a_e = der.expect(spki, s, e, der.SEQUENCE)
    ks, ke = der.bits(spki, *der.expect(spki, a_e, e, der.BIT_STRING))
    assert p256.decode_point(spki[ks:ke]) == (x, y)
    priv = eckey.private_der(RFC6979_X)
    s, e = der.expect(priv, 0, len(priv), der.SEQUENCE)
    assert e == len(priv)
    vs, ve = der.expect(priv, s, e, der.INTEGER)
    assert der.uint(priv, vs, ve) == 1
    ds, de = der.expect(priv, ve, e, der.OCTET_STRING)
    assert priv[ds:de] == RFC6979_X
    assert priv.endswith(p256.encode_point(x, y))
    pem = eckey.private_pem(RFC6979_X)
    assert pem.startswith(b"-----BEGIN EC PRIVATE KEY-----\n")
    assert list(pem_mod.blocks(pem, "EC PRIVATE KEY")) == [priv]
