# heapsize: 56K
# Verification keeps nothing in the heap between calls, and a call interrupted midway
# (MemoryError) cannot change the next verdict. 56K: compiled from source, as here, the crypto
# modules need ~52K (the parser holds a whole module at once); as .mpy files, importing them
# and verifying a 4 KB message need far less (bench/ed25519.py prints the figure).
import gc
import sys
from binascii import unhexlify as u

import ed25519

PK = u("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf")
SIG = u("dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704")
MSG = u("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")


def test_verify_in_a_small_heap_with_a_4k_message_beside():
    big = bytes(4096)
    for _ in range(3):
        assert ed25519.verify(PK, MSG, SIG)
        assert not ed25519.verify(PK, big, SIG)


# RFC 8032 7.1 TEST 1, 2, 3: keys that no other test here uses, so a table or cache made for
# a key on first sight would show in the heap.
KEYS = [tuple(u(x) for x in v) for v in (
    ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
)] + [(PK, MSG, SIG)]


def _verify_some(rounds):
    for _ in range(rounds):
        for pk, msg, sig in KEYS:
            bad = bytearray(sig)
            bad[40] ^= 1
            assert ed25519.verify(pk, msg, sig)
            assert not ed25519.verify(pk, msg, bad)
            assert not ed25519.verify(pk, msg, sig[:63])


def _heap_growth(work, *args):
    """Heap kept after work(*args). A table or cache would be kilobytes (per-key tables were
    1.3 KB each), a leak would grow with the calls. The work runs in a callee, so its frame's
    stale slots are gone when the collector looks; it is conservative all the same (a stale
    word on the C stack can keep a small object alive)."""
    gc.collect()
    before = gc.mem_alloc()
    work(*args)
    gc.collect()
    return gc.mem_alloc() - before


def test_verify_keeps_nothing_in_the_heap():
    grown = _heap_growth(_verify_some, 3)
    assert grown < 256, grown


def test_the_table_of_b_lives_only_with_ed25519():
    # ed25519 takes the table's bytes and removes its module, so dropping ed25519 drops both
    assert "ed25519_table" not in sys.modules
    assert len(ed25519._TB) == 768


def test_a_call_that_failed_midway_cannot_change_the_next_verdict():
    assert ed25519.verify(PK, MSG, SIG)
    real = ed25519._mul
    n = [0]

    def count(x, y):
        n[0] += 1
        return real(x, y)

    ed25519._mul = count
    try:
        assert ed25519.verify(PK, MSG, SIG)
    finally:
        ed25519._mul = real
    calls, n[0] = n[0], 0
    half = calls // 2  # past both decodings, in the making of the points' tables

    def fail(x, y):
        n[0] += 1
        if n[0] == half:
            raise MemoryError
        return real(x, y)

    ed25519._mul = fail
    try:
        try:
            ed25519.verify(PK, MSG, SIG)
        except MemoryError:
            pass
    finally:
        ed25519._mul = real
    assert n[0] == half
    grown = _heap_growth(_verify_some, 1)
    assert grown < 256, grown
    assert not ed25519.verify(PK, MSG[1:], SIG)
    assert ed25519.verify(PK, MSG, SIG)
