# lib/pem.py inside micropython: chains, text around blocks, streams, strict base64, bounds.
import io

import pem
from der import PKIError


def _reason(f, *args):
    try:
        f(*args)
    except PKIError as e:
        assert isinstance(e.reason, str) and isinstance(e.detail, str)
        return e.reason
    return None


DER1 = bytes(range(100))
DER2 = b"\x30\x03\x02\x01\x07"


def test_pem_roundtrip_chains_and_text_around():
    one = pem.encode(DER1, "CERTIFICATE")
    assert one.startswith(b"-----BEGIN CERTIFICATE-----\n") and one.endswith(b"-----END CERTIFICATE-----\n")
    assert max(len(x) for x in one.split(b"\n")) == 64
    two = pem.encode(DER2, "CERTIFICATE")
    key = pem.encode(b"\x01\x02", "EC PRIVATE KEY")
    text = b"Subject: x\nsome text\n" + one + b"\n" + key + two + b"trailer"
    assert list(pem.blocks(text)) == [DER1, DER2]
    assert list(pem.blocks(text.decode())) == [DER1, DER2]  # str too
    assert list(pem.blocks(text.replace(b"\n", b"\r\n"))) == [DER1, DER2]
    assert list(pem.blocks(io.BytesIO(text))) == [DER1, DER2]  # a stream, line by line
    assert list(pem.blocks(text, "EC PRIVATE KEY")) == [b"\x01\x02"]
    assert list(pem.blocks(b"no blocks here")) == []
    # lines of another width and indented lines are still PEM (RFC 7468 lax parsing)
    body = one.split(b"\n")[1:-2]
    joined = b"".join(body)
    lax = b"-----BEGIN CERTIFICATE-----\n  " + joined[:10] + b"\n\t" + joined[10:] + b"\n-----END CERTIFICATE-----"
    assert list(pem.blocks(lax)) == [DER1]


def test_bad_pem():
    good = pem.encode(DER1, "CERTIFICATE")
    head, rest = good.split(b"\n", 1)
    cases = (
        (good[:-26], "bad_pem"),  # no END line
        (head + b"\n" + b"Zm9v!\n" + rest, "bad_pem"),  # a character outside base64
        (head + b"\nZm9\n" + rest, "bad_pem"),  # base64 length not a multiple of 4
        (head + b"\nZg=a\n" + rest, "bad_pem"),  # '=' inside
        (head + b"\nZh==\n" + rest, "bad_pem"),  # non-canonical: stray bits in the last char
        (head + b"\n-----BEGIN CERTIFICATE-----\n" + rest, "bad_pem"),
        (b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", "bad_pem"),  # empty
    )
    for text, reason in cases:
        assert _reason(lambda t: list(pem.blocks(t)), text) == reason, text[:60]


def test_pem_bounds():
    many = pem.encode(DER2, "CERTIFICATE") * (pem.MAX_BLOCKS + 1)
    assert _reason(lambda t: list(pem.blocks(t)), many) == "too_many"
    assert len(list(pem.blocks(pem.encode(DER2, "CERTIFICATE") * pem.MAX_BLOCKS))) == pem.MAX_BLOCKS
    big = pem.encode(bytes(pem.MAX_PEM + 3), "CERTIFICATE")
    assert _reason(lambda t: list(pem.blocks(t)), big) == "too_large"
    assert len(next(pem.blocks(pem.encode(bytes(pem.MAX_PEM), "CERTIFICATE")))) == pem.MAX_PEM


def test_blocks_on_one_line():
    # some back ends strip the line breaks of a PEM certificate: markers and base64 on one line
    one = pem.encode(DER1, "CERTIFICATE")
    flat = one.replace(b"\n", b"")
    assert list(pem.blocks(flat)) == [DER1]
    two = flat + b" " + pem.encode(DER2, "CERTIFICATE").replace(b"\n", b"") + b" trailer"
    assert list(pem.blocks(two)) == [DER1, DER2]
    assert list(pem.blocks(b"text -----BEGIN CERTIFICATE-----" + one.split(b"\n", 1)[1])) == [DER1]
    assert _reason(lambda t: list(pem.blocks(t)), flat[:-30]) == "bad_pem"
    assert _reason(lambda t: list(pem.blocks(t)), flat.replace(b"-----END", b"-----BEGIN")) == "bad_pem"
    long_line = b"-----BEGIN CERTIFICATE-----" + b"A" * (4 * pem.MAX_PEM // 3 + 8) + b"-----END CERTIFICATE-----"
    assert _reason(lambda t: list(pem.blocks(t)), long_line) == "too_large"
