"""Host signs with `cryptography` / hashes with hashlib; micropython (lib/) must agree.

Also a small reference Ed25519 in plain CPython ints (affine, straight from RFC 8032: the
cofactorless check encode([S]B - [k]A) == R with k = SHA-512(R || A || M) mod L), for what
`cryptography` cannot make: public keys and R with small-order parts, where the device's
half-size scalars must give the same verdicts; and the table of B (lib/ed25519_table.py),
recomputed here (`python3 tests/host/test_crypto_roundtrip.py --write-table` rewrites it)."""
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


# --- reference arithmetic (CPython) ---------------------------------------------------------
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
O = (0, 1)


def _ext_add(p, q):
    """Extended coordinates (X, Y, Z, T), RFC 8032 5.1.4 (complete, so p = q works)."""
    a = (p[1] - p[0]) * (q[1] - q[0]) % P
    b = (p[1] + p[0]) * (q[1] + q[0]) % P
    c = 2 * D * p[3] * q[3] % P
    d = 2 * p[2] * q[2] % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % P, g * h % P, f * g % P, e * h % P


def _affine(p):
    z = pow(p[2], P - 2, P)
    return p[0] * z % P, p[1] * z % P


def _add(p, q):
    return _affine(_ext_add((p[0], p[1], 1, p[0] * p[1] % P), (q[0], q[1], 1, q[0] * q[1] % P)))


def _mul(k, p):
    r, p = (0, 1, 1, 0), (p[0], p[1], 1, p[0] * p[1] % P)
    while k:
        if k & 1:
            r = _ext_add(r, p)
        p = _ext_add(p, p)
        k >>= 1
    return _affine(r)


def _dec(b):
    """RFC 8032 5.1.3, strict (y < p; x = 0 with the sign bit set is rejected)."""
    y = int.from_bytes(b, "little")
    sign, y = y >> 255, y & (2**255 - 1)
    if y >= P:
        return None
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if (v * x * x - u) % P:
        x = x * pow(2, (P - 1) // 4, P) % P
    if (v * x * x - u) % P or (x == 0 and sign):
        return None
    return (P - x if x & 1 != sign else x), y


def _enc(p):
    return (p[1] | (p[0] & 1) << 255).to_bytes(32, "little")


B = _dec((4 * pow(5, P - 2, P) % P).to_bytes(32, "little"))


def _ref_verify(pk, m, sig):
    if len(pk) != 32 or len(sig) != 64:
        return False
    a, s = _dec(pk), int.from_bytes(sig[32:], "little")
    if a is None or s >= L:
        return False
    k = int.from_bytes(hashlib.sha512(sig[:32] + pk + m).digest(), "little") % L
    return _enc(_add(_mul(s, B), _mul(k, (P - a[0], a[1])))) == sig[:32]


def _table(w):
    """lib/ed25519_table.T for NAF width w: (2j+1) 2^(128 h) B for h = 0, 1 and j < 2^(w-2),
    each as y+x, y-x, 2dxy mod p (32 bytes little-endian each)."""
    out = bytearray()
    for h in (0, 1):
        q = _mul(1 << (128 * h), B)
        q2, pt = _add(q, q), q
        for _ in range(1 << (w - 2)):
            x, y = pt
            for v in (y + x, y - x, 2 * D * x * y):
                out += (v % P).to_bytes(32, "little")
            pt = _add(pt, q2)
    return bytes(out)


def _torsion():
    """The 8 points of order dividing 8: multiples of [L]Q for a Q whose [L]Q has order 8."""
    y = 2
    while True:
        q = _dec(y.to_bytes(32, "little"))
        if q:
            t = _mul(L, q)
            if _mul(4, t) != O:
                return [_mul(i, t) for i in range(8)]
        y += 1


def test_small_order_parts_in_keys_and_r_give_the_reference_verdicts(tmp_path):
    # A = [a]B + T and R = [r]B + T' for each pair of the 8 small-order points (a = 0: A is
    # of small order itself), S = r + k a mod L: the prime-order parts always agree, so the
    # verdict is T' + [k]T = O, which the lattice step must neither break nor fake
    rnd = random.Random(25519)
    ts = _torsion()
    cases = []
    for i, t in enumerate(ts):
        for j, t2 in enumerate(ts):
            for a in (0, rnd.randrange(1, L)):
                r = rnd.randrange(1, L)
                pk = _enc(_add(_mul(a, B), t))
                rb = _enc(_add(_mul(r, B), t2))
                m = rnd.randbytes(rnd.randrange(0, 80))
                k = int.from_bytes(hashlib.sha512(rb + pk + m).digest(), "little") % L
                sig = rb + ((r + k * a) % L).to_bytes(32, "little")
                cases.append((pk, m, sig))
    want = [_ref_verify(*c) for c in cases]
    assert 16 < sum(want) < len(cases) - 16  # both verdicts, many times each
    f = tmp_path / "cases.json"
    f.write_text("".join(json.dumps(["ed"] + [x.hex() for x in c]) + "\n" for c in cases))
    script = tmp_path / "dev.py"
    script.write_text(DEVICE)
    got = [g == "True" for g in run_mpy(script, f, timeout=300, check=True).stdout.split()]
    assert len(got) == len(cases)
    bad = [(i, want[i]) for i in range(len(cases)) if got[i] != want[i]]
    assert not bad, bad


def test_the_table_of_b_is_what_it_claims():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "lib"))
    import ed25519_table

    assert ed25519_table.T == _table(4)


def _write_table(w=4):
    """Rewrite lib/ed25519_table.py's T for width w, keeping its docstring."""
    path = Path(__file__).resolve().parent.parent.parent / "lib" / "ed25519_table.py"
    text = path.read_text()
    t = _table(w)
    lines = ['    b"' + "".join("\\x%02x" % c for c in t[i:i + 24]) + '"' for i in range(0, len(t), 24)]
    path.write_text(text[:text.index("T = (")] + "T = (\n" + "\n".join(lines) + "\n)\n")


if __name__ == "__main__" and sys.argv[1:] == ["--write-table"]:
    _write_table()
