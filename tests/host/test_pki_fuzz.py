"""Malformed DER and PEM never crash the device code: certificates made by `cryptography`,
damaged in every way a fuzzer knows (bits, bytes, lengths, truncation, insertion, deletion,
splices of another certificate's elements), random bytes and damaged PEM text, parsed and
checked inside micropython (lib/x509, der, pem). Every answer is "ok" or a PKIError reason;
and whatever the device accepts as issued by the root, cryptography accepts too, with the
signed bytes unchanged."""
import base64
import hashlib
import json
import random
import sys
from pathlib import Path

from cryptography import x509 as cx509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from mpy import run_mpy  # noqa: E402

import pki_certs as pc  # noqa: E402

REASONS = {
    "truncated", "not_der", "too_large", "bad_tag", "unexpected", "bad_integer", "bad_bit_string", "bad_time",
    "bad_type", "trailing_data", "bad_certificate", "bad_version", "bad_serial", "sig_alg_mismatch",
    "bad_validity", "bad_tbs", "bad_extensions", "bad_name", "bad_key", "bad_point", "bad_algorithm",
    "duplicate_extension", "bad_extension", "unknown_critical_extension", "too_many", "bad_pem",
    "issuer_mismatch", "not_ca", "ca_key_usage", "expired", "not_yet_valid", "ca_expired", "ca_not_yet_valid",
    "unsupported_key", "unsupported_algorithm", "bad_signature",
}
DER = serialization.Encoding.DER


def _headers(b, pos=0, end=None, out=None):
    """Offsets of every TLV header in DER b (constructed elements walked into)."""
    out = [] if out is None else out
    end = len(b) if end is None else end
    while pos < end:
        out.append(pos)
        tag, n = b[pos], b[pos + 1]
        hl = 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(b[pos + 2:pos + 2 + k], "big")
            hl += k
        if tag & 0x20 or tag == 0x04 and b[pos + hl] in (0x30, 0x03):  # constructed, or a wrapped extension value
            try:
                _headers(b, pos + hl, pos + hl + n, out)
            except IndexError:
                pass
        pos += hl + n
    return out


def _elements(b):
    """(start, end) of every element: splice material."""
    res = []
    for h in _headers(b):
        n = b[h + 1]
        hl = 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(b[h + 2:h + 2 + k], "big")
            hl += k
        res.append((h, h + hl + n))
    return res


def mutate(rnd, d, other):
    b = bytearray(d)
    what = rnd.randrange(9)
    if what == 0:
        for _ in range(rnd.randrange(1, 4)):
            i = rnd.randrange(len(b) * 8)
            b[i >> 3] ^= 1 << (i & 7)
    elif what == 1:
        b[rnd.randrange(len(b))] = rnd.randrange(256)
    elif what == 2:  # a length byte
        h = rnd.choice(_headers(d))
        b[h + 1] = rnd.choice((0x00, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0xFF, (b[h + 1] + 1) & 0xFF,
                               (b[h + 1] - 1) & 0xFF))
    elif what == 3:  # a tag
        h = rnd.choice(_headers(d))
        b[h] = rnd.choice((0x30, 0x31, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0C, 0x13, 0x17, 0x18, 0x1E, 0x1F, 0xA0,
                           0xA3, 0x01, 0x80, 0x00))
    elif what == 4:
        del b[rnd.randrange(len(b)):]
    elif what == 5:
        i = rnd.randrange(len(b) + 1)
        b[i:i] = rnd.randbytes(rnd.randrange(1, 5))
    elif what == 6:
        i = rnd.randrange(len(b))
        del b[i:i + rnd.randrange(1, 40)]
    elif what == 7:  # an element duplicated in place
        s, e = rnd.choice(_elements(d))
        b[e:e] = d[s:e]
    else:  # an element replaced by one of another certificate
        s, e = rnd.choice(_elements(d))
        s2, e2 = rnd.choice(_elements(other))
        b[s:e] = other[s2:e2]
    return bytes(b)


def _tbs(der_bytes):
    """The tbsCertificate TLV bytes, or None when the outer structure is not readable."""
    try:
        return cx509.load_der_x509_certificate(der_bytes).tbs_certificate_bytes
    except ValueError:
        return None


def test_malformed_certificates_fail_cleanly_and_never_pass_wrongly(tmp_path):
    rnd = random.Random(5280)
    R, E = pc.rsa_key(), pc.ec_key()
    fw_r, fw_e = pc.rsa_key(), pc.ec_key()
    leaf = dict(ca=False, ku="sign", eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    roots = {"R": pc.make_cert("Root R", R), "E": pc.make_cert("Root E", E)}
    leaves = [("R", pc.make_cert("FW", fw_e, "Root R", R, "pss", **leaf)),
              ("R", pc.make_cert("FW", fw_r, "Root R", R, "pkcs1", **leaf)),
              ("E", pc.make_cert("FW", fw_r, "Root E", E, "ecdsa", **leaf)),
              ("E", pc.make_cert("FW", fw_e, "Root E", E, "ecdsa", serial=0xFF00, **leaf))]
    cases = [["root", n, c.public_bytes(DER).hex()] for n, c in roots.items()]
    originals = []
    for r, c in leaves:
        d = c.public_bytes(DER)
        cases.append(["cert", r, d.hex(), pc.NOW])
        originals.append(d)
    mutants = []
    for i in range(1600):
        r, c = leaves[i % len(leaves)]
        d = c.public_bytes(DER)
        m = mutate(rnd, d, rnd.choice(originals + [roots["R"].public_bytes(DER)]))
        mutants.append((r, m, d))
        cases.append(["cert", r, m.hex(), pc.NOW])
    for n in (0, 1, 2, 3, 10, 100, 1000, 9000):
        cases.append(["cert", "R", rnd.randbytes(n).hex(), pc.NOW])
    for text in ("30820100" + "00" * 300,  # outer length short of the data
                 "3080" + "00" * 10,  # indefinite length
                 "3084ffffffff" + "00" * 10,  # a 4 GB length
                 "3082ffff" + "30" * 100,  # a 64 KB length, 100 bytes there
                 "30" * 2000):  # nested headers all the way down
        cases.append(["cert", "R", text, pc.NOW])
    f = tmp_path / "cases.jsonl"
    f.write_text("".join(json.dumps(c) + "\n" for c in cases))
    p = run_mpy(HERE / "pki_dev.py", f, timeout=900, check=True)
    out = p.stdout.splitlines()
    assert len(out) == len(cases), p.stdout[-3000:]
    assert out[:2] == ["root", "root"] and out[2:6] == ["ok"] * 4
    unknown = {x for x in out[6:] if x != "ok" and x not in REASONS}
    assert not unknown, unknown  # nothing escapes: no ESCAPED, MEMORYERROR or BADREASON either
    seen = set(out)
    assert len(seen) >= 15, seen  # the damage reached many different checks
    for (r, m, d), verdict in zip(mutants, out[6:]):
        if verdict == "ok":  # accepted: cryptography must accept it, and the signed bytes are intact
            cert = cx509.load_der_x509_certificate(m)
            cert.verify_directly_issued_by(roots[r])
            assert cert.tbs_certificate_bytes == _tbs(d)
    assert out.count("bad_signature") > 100


def _pem_text(der_list, rnd):
    parts = ["junk before\n"]
    for d in der_list:
        body = base64.b64encode(d).decode()
        width = rnd.choice((64, 64, 76, 40))
        parts.append("-----BEGIN CERTIFICATE-----\n")
        parts += [body[i:i + width] + "\n" for i in range(0, len(body), width)]
        parts.append("-----END CERTIFICATE-----\n")
    return "".join(parts)


def _pem_mutate(rnd, t):
    i = rnd.randrange(len(t))
    what = rnd.randrange(6)
    if what == 0:
        return t[:i] + t[i + 1:]
    if what == 1:
        return t[:i] + rnd.choice("A=+/\n \t-!é\r") + t[i:]
    if what == 2:
        return t[:i]
    if what == 3:
        return t[:i] + rnd.choice("AQ=") + t[i + 1:]
    if what == 4:
        return t.replace("\n", "\r\n")
    return t.replace("=", "", 1)


def test_malformed_pem_fails_cleanly_and_decodes_only_what_base64_says(tmp_path):
    rnd = random.Random(7468)
    ders = [pc.make_cert("R%d" % i, pc.ec_key()).public_bytes(DER) for i in range(3)]
    cases, texts = [], []
    for i in range(400):
        t = _pem_text(ders[:1 + i % 3], rnd)
        if i % 8:
            t = _pem_mutate(rnd, t)
        texts.append(t)
        cases.append(["pem", t])
    f = tmp_path / "cases.jsonl"
    f.write_text("".join(json.dumps(c) + "\n" for c in cases))
    p = run_mpy(HERE / "pki_dev.py", f, timeout=600, check=True)
    out = p.stdout.splitlines()
    assert len(out) == len(cases)
    for t, line in zip(texts, out):
        if line.startswith("pem ") and "------" not in t:
            # what was decoded is exactly what strict base64 gives for each block's text (a
            # sixth dash makes the markers ambiguous: only "no escape" is checked then)
            blocks = []
            for chunk in t.split("-----BEGIN CERTIFICATE-----")[1:]:
                body = chunk.split("-----END CERTIFICATE-----")[0]
                blocks.append(base64.b64decode("".join(body.split()), validate=True))
            d = hashlib.sha256(b"".join(blocks)).hexdigest()
            assert line == "pem %d %s" % (len(blocks), d), (t, line)
        elif not line.startswith("pem "):
            assert line in ("bad_pem", "too_many", "too_large"), line
    assert sum(x.startswith("pem ") for x in out) >= 50 and "bad_pem" in out
