# Published vectors (RFC 8032 7.1, FIPS 180-4) and the strictness rules, inside micropython.
from binascii import unhexlify as u

import ed25519
import sha512

RFC8032 = [  # (public key, message, signature): TEST 1, 2, 3 and TEST SHA(abc)
    ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
]
FIPS = [
    (b"abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
    (b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
     "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"),
    (b"", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"),
]
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493


def _le(n):
    return n.to_bytes(32, "little")


def test_sha512_fips_examples():
    for msg, want in FIPS:
        assert sha512.sha512(msg).hexdigest() == want
        assert sha512.sha512(msg).digest() == u(want)


def test_sha512_million_a_in_odd_sized_updates():
    h = sha512.sha512()
    chunk = b"a" * 997
    n = 0
    while n + 997 <= 1000000:
        h.update(chunk)
        n += 997
    h.update(b"a" * (1000000 - n))
    assert h.hexdigest() == "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"


def test_sha512_lengths_around_the_padding_boundary():
    # 111/112 bytes is where the length field stops fitting in the last block
    want = {  # hashlib.sha512(bytes(range(n))).hexdigest()[:16]
        0: "cf83e1357eefb8bd", 111: "a1a111449b198d9b", 112: "c5fbd731d19d2ae1",
        127: "eab89674feaa34e2", 128: "1dffd5e3adb71d45", 129: "1d9da57fbbdab09a",
    }
    for n, w in want.items():
        assert sha512.sha512(bytes(range(n))).hexdigest()[:16] == w, n


def test_sha512_digest_leaves_the_object_usable():
    h = sha512.sha512(b"a")
    h.digest()
    h.update(bytearray(b"b"))
    h.update(memoryview(b"c"))
    assert h.hexdigest() == FIPS[0][1]
    assert h.digest() == h.digest()


def test_sha512_copy_keeps_state():
    h = sha512.sha512(b"ab")
    c = h.copy()
    c.update(b"c")
    assert c.hexdigest() == FIPS[0][1]
    h.update(b"c")
    assert h.digest() == c.digest()


def test_rfc8032_vectors_verify():
    for pk, m, s in RFC8032:
        assert ed25519.verify(u(pk), u(m), u(s)), pk


def test_rfc8032_vectors_with_any_bit_flipped_fail():
    pk, m, s = RFC8032[2]
    pk, m, s = u(pk), u(m), u(s)
    for i in range(0, 64 * 8, 7):
        bad = bytearray(s)
        bad[i >> 3] ^= 1 << (i & 7)
        assert not ed25519.verify(pk, m, bad), i
    for i in range(0, 256, 11):
        bad = bytearray(pk)
        bad[i >> 3] ^= 1 << (i & 7)
        assert not ed25519.verify(bytes(bad), m, s), i
    assert not ed25519.verify(pk, m + b"\0", s)
    assert not ed25519.verify(pk, b"\x83\xaf", s)


def test_s_not_below_l_is_rejected():
    pk, m, s = [u(x) for x in RFC8032[1]]
    S = int.from_bytes(s[32:], "little")
    assert not ed25519.verify(pk, m, s[:32] + _le(S + L))  # same point equation, non-canonical S
    assert not ed25519.verify(pk, m, s[:32] + _le(L))


def test_noncanonical_encodings_are_rejected():
    pk, m, s = [u(x) for x in RFC8032[1]]
    # y >= p in the key and in R
    for y in (P, P + 1, 2**255 - 1):
        assert not ed25519.verify(_le(y), m, s)
        assert not ed25519.verify(pk, m, _le(y) + s[32:])
    # x = 0 with the sign bit set: y = 1 (the identity) and y = p - 1
    assert not ed25519.verify(_le(1 | (1 << 255)), m, s)
    assert not ed25519.verify(_le((P - 1) | (1 << 255)), m, s)
    # R with its sign bit flipped is the other point with the same y
    r = bytearray(s)
    r[31] ^= 0x80
    assert not ed25519.verify(pk, m, r)


def test_points_off_the_curve_are_rejected():
    m = b"x"
    off = 0
    y = 2
    while off < 3:
        if ed25519._decode(_le(y)) is None:  # no x for this y: not on the curve
            off += 1
            assert not ed25519.verify(_le(y), m, bytes(64))
            pk, mm, s = [u(x) for x in RFC8032[0]]
            assert not ed25519.verify(pk, mm, _le(y) + s[32:])
        y += 1


def test_malformed_input_returns_false_never_raises():
    pk, m, s = [u(x) for x in RFC8032[0]]
    for args in ((pk[:31], m, s), (pk + b"\0", m, s), (pk, m, s[:63]), (pk, m, s + b"\0"),
                 (None, m, s), (pk, m, None), ("x" * 32, m, s), (pk, None, s), (pk, 5, s),
                 (b"", b"", b""), (bytearray(32), m, bytearray(64))):
        assert ed25519.verify(*args) is False


def test_mutable_buffers_and_memoryviews_are_accepted():
    pk, m, s = [u(x) for x in RFC8032[1]]
    assert ed25519.verify(bytearray(pk), memoryview(m), memoryview(bytearray(s)))


def test_message_in_pieces_is_their_concatenation():
    pk, m, s = [u(x) for x in RFC8032[3]]
    assert ed25519.verify(pk, (m[:5], memoryview(m)[5:60], b"", m[60:]), s)
    assert not ed25519.verify(pk, (m[:5], m[6:]), s)
    assert not ed25519.verify(pk, (m, 5), s)


def test_a_public_key_that_is_the_base_point_works():
    # B - A is then the neutral point, one of the three addends of the Shamir pass
    B = u("5866666666666666666666666666666666666666666666666666666666666666")
    m = b"x"
    # secret scalar 1: R = [r]B with r = 1, S = r + k * 1 mod L
    R = B
    k = int.from_bytes(sha512.sha512(R + B + m).digest(), "little") % L
    sig = R + _le((1 + k) % L)
    assert ed25519.verify(B, m, sig)
    assert not ed25519.verify(B, m + b"y", sig)


def test_noncanonical_aliases_of_valid_equations_are_rejected():
    # The neutral point (x = 0, y = 1) has a second, non-canonical encoding: y = p + 1. Here
    # the group equation holds for both encodings, so only the strictness check rejects.
    B = u("5866666666666666666666666666666666666666666666666666666666666666")
    O, O_alias = _le(1), _le(P + 1)
    m = b"x"
    # key O: [k]O = O, so R = B, S = 1 satisfies [S]B = R + [k]A for any k
    assert ed25519.verify(O, m, B + _le(1))
    assert not ed25519.verify(O_alias, m, B + _le(1))
    assert not ed25519.verify(_le(1 | 1 << 255), m, B + _le(1))  # x = 0 with the sign bit set
    # key B (secret 1), R = O (nonce 0): S = k, where k hashes R's bytes as sent
    for R, want in ((O, True), (O_alias, False), (_le(1 | 1 << 255), False)):
        k = int.from_bytes(sha512.sha512(R + B + m).digest(), "little") % L
        assert ed25519.verify(B, m, R + _le(k)) is want


def test_sha512_rejects_what_is_not_bytes_like():
    for bad in (None, 5, [1, 2]):
        try:
            sha512.sha512(bad)
        except TypeError:
            continue
        raise AssertionError("accepted %r" % (bad,))


def _scalars():
    """k for _half: edge values and 300 pseudo-random ones below L."""
    from prng import XorShift

    rnd = XorShift(8032)
    ks = [0, 1, 2, 3, 8, L - 1, L - 2, 2**127, 2**128, 2**252, 240615969168004511545033772477625056927,
          240615969168004511545033772477625056928]
    ks += [int.from_bytes(rnd.bytes(32), "little") % L for _ in range(300)]
    ks += [int.from_bytes(rnd.bytes(17), "little") for _ in range(20)]  # small k: no Euclid step
    return ks


def test_half_size_scalars_keep_the_equation():
    # c = d k (mod 8L) with d odd and 0 < |d| < L is what makes [e]B - [c]A - [d]R = O the RFC
    # check itself, small-order parts of A and R included; both near 2^127.5 is the speed
    evens = big = 0
    for k in _scalars():
        c, d = ed25519._half(k)
        assert (c - d * k) % (8 * L) == 0, k
        assert d & 1 and 0 < abs(d) < L and c >= 0, k
        assert c < 8 * L, k
        # L - 1 and the like have a short lattice vector with d even (8, -8): every odd one is
        # long, and the pass just takes more doublings; a hash almost never lands there
        big += c >= 2**130 or abs(d) >= 2**130
        r0, r1, t0, t1 = 8 * L, k, 0, 1
        while r1 > 240615969168004511545033772477625056927:
            q = r0 // r1
            r0, r1, t0, t1 = r1, r0 - q * r1, t1, t0 - q * t1
        evens += not t1 & 1  # the Euclid row had an even d: the other branch was taken
    assert evens > 50 and big < 20, (evens, big)  # ~1/3 even; ~2.5% above 2^130 (+ L-1, L-2)


def test_naf_digits_sum_to_the_scalar():
    from array import array

    for w in (3, 4, 5):
        for k in _scalars()[:120]:
            ds = array("b", bytes(258))
            mask = bytearray(258)
            ed25519._naf(k, w, ds, mask, 4, 257)
            assert sum(d << i for i, d in enumerate(ds)) == k, (w, k)
            last = -w
            for i, d in enumerate(ds):
                if d:
                    assert d & 1 and -(1 << (w - 1)) < d < 1 << (w - 1), (w, k, i, d)
                    assert i - last >= w, (w, k, i)  # at most one nonzero digit in w
                    assert mask[i] == 4
                    last = i
                else:
                    assert mask[i] == 0
