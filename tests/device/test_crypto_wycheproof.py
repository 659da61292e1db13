# Wycheproof's Ed25519 vectors (wycheproof_ed25519.txt beside this file, one per line) inside
# micropython: every verdict must be Wycheproof's, valid and invalid alike.
from binascii import unhexlify

import ed25519

HERE = __file__.rsplit("/", 1)[0]


def _vectors():
    """(tcId, public key, message, signature, valid) for each vector, read a line at a time."""
    pk = None
    with open(HERE + "/wycheproof_ed25519.txt") as f:
        for line in f:
            if line.startswith("#"):
                continue
            w = line.split()
            if w[0] == "k":
                pk = unhexlify(w[1])
                continue
            msg, sig = [b"" if x == "-" else unhexlify(x) for x in w[2:4]]
            yield int(w[0]), pk, msg, sig, w[1] == "1"


def test_every_wycheproof_verdict_matches():
    seen = valid = 0
    wrong = []
    for tc, pk, msg, sig, want in _vectors():
        seen += 1
        valid += want
        if ed25519.verify(pk, msg, sig) is not want:
            wrong.append(tc)
    assert not wrong, wrong
    assert (seen, valid) == (151, 88), (seen, valid)  # the whole file was read


def test_wycheproof_valid_signatures_fail_once_altered():
    # each valid vector's message with one byte more, and its S with the low bit flipped
    n = 0
    for tc, pk, msg, sig, want in _vectors():
        if not want:
            continue
        n += 1
        assert not ed25519.verify(pk, msg + b"\0", sig), tc
        bad = bytearray(sig)
        bad[32] ^= 1
        assert not ed25519.verify(pk, msg, bad), tc
    assert n == 88
