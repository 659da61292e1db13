# The OTA service imports the crypto for each update check and drops it afterwards
# (firmware.ota.forget(*CHECK_CODE)), so the next check compiles or loads it again. That must
# leave nothing behind. Native code is never freed once loaded (the Unix port keeps a heap
# record per mapping, an ESP32 keeps it in IRAM until a soft reset), so sha512_viper, the
# native SHA-512, must be loaded once and kept, never dropped with the rest and reloaded.
import gc
import sys
from binascii import unhexlify as u

PK = u("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf")
SIG = u("dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704")
MSG = u("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")


def _checks(rounds):
    """What one update check does with the crypto, `rounds` times."""
    from firmware.ota import CHECK_CODE, forget

    for _ in range(rounds):
        import ed25519

        assert ed25519.verify(PK, MSG, SIG)
        assert not ed25519.verify(PK, MSG + b"x", SIG)
        ed25519 = None
        forget(*CHECK_CODE)


def test_loading_the_crypto_for_every_check_keeps_the_heap_flat():
    _checks(1)  # the first check loads sha512_viper (where native code runs): it stays
    native = "sha512_viper" in sys.modules
    assert "ed25519" not in sys.modules and "ed25519_table" not in sys.modules
    gc.collect()
    before = gc.mem_alloc()
    _checks(20)  # 20 reloads of the native code would leak ~0.6 KB here
    gc.collect()
    grown = gc.mem_alloc() - before
    assert grown < 256, grown
    assert ("sha512_viper" in sys.modules) is native


def test_native_and_plain_sha512_agree():
    # sha512 with its native compression (when it loads here) and with the plain-int one (what
    # a board without executable RAM left, or CPython, runs) on lengths around the block and
    # padding boundaries, odd-sized updates, copies and digests taken midway
    import sha512

    data = bytes(i * 131 + 7 & 255 for i in range(700))

    def digests():
        out = [sha512.sha512(data[:n]).digest() for n in (0, 1, 111, 112, 127, 128, 129, 255, 256, 700)]
        h = sha512.sha512()
        for i in range(0, 700, 37):
            h.update(memoryview(data)[i:i + 37])
            out.append(h.copy().digest())
        return out

    native = digests()
    real = sha512._native
    sha512._native = sha512._block
    try:
        plain = digests()
    finally:
        sha512._native = real
    assert native == plain
    assert plain[0].hex()[:16] == "cf83e1357eefb8bd" and plain[9] == plain[-1]
