"""Host signs with `cryptography` / hashes with hashlib; micropython (lib/) must agree."""
import hashlib
import json
import random
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mpy import run_mpy  # noqa: E402

DEVICE = r"""
import sys, json, binascii
import ed25519, sha512
u = binascii.unhexlify
# one case per line, streamed: the inputs would not fit the heap at once
with open(sys.argv[1]) as f:
    for line in f:
        c = json.loads(line)
        if c[0] == "sha":
            print(sha512.sha512(u(c[1])).hexdigest())
        else:
            print(ed25519.verify(u(c[1]), u(c[2]), u(c[3])))
"""


def _raw(pub):
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _host_ok(pk, m, s):
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(pk).verify(s, m)
        return True
    except (InvalidSignature, ValueError):
        return False


def _mutate(rnd, pk, m, s):
    what = rnd.randrange(5)
    if what == 0:  # flip a bit in R or S
        b = bytearray(s)
        i = rnd.randrange(512)
        b[i >> 3] ^= 1 << (i & 7)
        return pk, m, bytes(b)
    if what == 1:  # flip a bit of the message (or extend an empty one)
        if not m:
            return pk, b"\0", s
        b = bytearray(m)
        i = rnd.randrange(len(m) * 8)
        b[i >> 3] ^= 1 << (i & 7)
        return pk, bytes(b), s
    if what == 2:  # another key
        return _raw(ed25519.Ed25519PrivateKey.generate().public_key()), m, s
    if what == 3:  # S + L: same equation, non-canonical scalar
        L = 2**252 + 27742317777372353535851937790883648493
        S = int.from_bytes(s[32:], "little") + L
        return pk, m, s[:32] + S.to_bytes(32, "little")
    return pk, m[:-1] if m else m + b"x", s  # truncated message


def test_sha512_and_ed25519_agree_with_the_host(tmp_path):
    rnd = random.Random(8032)
    sha = [rnd.randbytes(rnd.randrange(0, 2001)) for _ in range(120)]
    sha += [bytes(n) for n in (111, 112, 113, 127, 128, 129, 239, 240, 255, 256, 257)]
    keys = [ed25519.Ed25519PrivateKey.generate() for _ in range(3)]  # a few keys, each used many times
    ed = []
    for i in range(150):
        k = keys[i % len(keys)] if i % 10 else ed25519.Ed25519PrivateKey.generate()
        m = rnd.randbytes(rnd.choice((0, 1, 31, 64, 200, 1500)))
        s = k.sign(m)
        pk = _raw(k.public_key())
        ed.append((pk, m, s))
        ed.append(_mutate(rnd, pk, m, s))
    want_ed = [_host_ok(*c) for c in ed]
    assert 150 <= sum(want_ed) < 300  # every valid one plus at most a few lucky mutations
    f = tmp_path / "cases.json"
    lines = [["sha", m.hex()] for m in sha]
    lines += [["ed"] + [x.hex() for x in c] for c in ed]
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    script = tmp_path / "dev.py"
    script.write_text(DEVICE)
    p = run_mpy(script, f, timeout=300, check=True)
    got = p.stdout.split()
    assert len(got) == len(lines)
    n = len(sha)
    assert got[:n] == [hashlib.sha512(m).hexdigest() for m in sha]
    got_ed = [g == "True" for g in got[n:]]
    bad = [(i, want_ed[i]) for i in range(len(ed)) if got_ed[i] != want_ed[i]]
    assert not bad, bad


def test_host_tools_may_verify_from_several_threads():
    # upile.release runs the device's verify on CPython, and tests build releases in threads
    import threading

    sys.path.append(str(Path(__file__).resolve().parent.parent.parent / "lib"))
    import ed25519 as dev

    keys = [ed25519.Ed25519PrivateKey.generate() for _ in range(6)]
    wrong = []

    def work(i):
        for n in range(15):
            k = keys[(i + n) % len(keys)]
            m = b"release %d %d" % (i, n)
            if not dev.verify(_raw(k.public_key()), m, k.sign(m)):
                wrong.append((i, n))
            if dev.verify(_raw(k.public_key()), m + b"!", k.sign(m)):
                wrong.append((i, n, "forged"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong
