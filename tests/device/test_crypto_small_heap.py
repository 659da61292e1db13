# heapsize: 64K
# Verification fits a small heap (the ESP32 has ~100 KB in all), even from source, and a
# call interrupted midway (MemoryError) cannot change the next verdict.
from binascii import unhexlify as u

import ed25519

PK = u("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf")
SIG = u("dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704")
MSG = u("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")


def test_verify_in_64k_heap_with_a_4k_message_beside():
    big = bytes(4096)
    for _ in range(3):
        assert ed25519.verify(PK, MSG, SIG)
        assert not ed25519.verify(PK, big, SIG)


def test_a_call_that_failed_midway_cannot_change_the_next_verdict():
    assert ed25519.verify(PK, MSG, SIG)  # tables built, one schedule pooled
    real = ed25519._mul2

    def fail(sched):
        sched[5] = [(ed25519._base[1][1], 3)]  # _base = (width, band tables)
        raise MemoryError

    ed25519._mul2 = fail
    try:
        try:
            ed25519.verify(PK, MSG, SIG)
        except MemoryError:
            pass
    finally:
        ed25519._mul2 = real
    assert ed25519.verify(PK, MSG, SIG)
    for sched in ed25519._pool:
        assert all(e is None for e in sched)
