# lib/der.py inside micropython: the DER reader's strictness and bounds, times, the writer.
import der
from der import PKIError


def _reason(f, *args):
    try:
        f(*args)
    except PKIError as e:
        assert isinstance(e.reason, str) and isinstance(e.detail, str)
        return e.reason
    return None


def test_lengths_short_and_long_forms():
    assert der.tlv(b"\x04\x02ab", 0, 4) == (4, 2, 4)
    long1 = b"\x04\x81\x80" + bytes(128)
    assert der.tlv(long1, 0, len(long1)) == (4, 3, 131)
    long2 = b"\x04\x82\x01\x00" + bytes(256)
    assert der.tlv(long2, 0, len(long2)) == (4, 4, 260)
    # an element inside a window: the window's end bounds it, not the buffer's
    assert _reason(der.tlv, b"\x04\x02ab", 0, 3) == "truncated"


def test_non_der_lengths_and_tags_are_refused():
    cases = (
        (b"\x04\x81\x05abcde", "not_der"),  # long form for a short length
        (b"\x04\x82\x00\x90" + bytes(0x90), "not_der"),  # leading zero length byte
        (b"\x30\x80\x00\x00", "not_der"),  # indefinite (BER)
        (b"\x04\x83\x01\x00\x00" + bytes(65536), "too_large"),  # above our 64 KiB bound
        (b"\x04\x84\x00\x00\x00\x01a", "too_large"),
        (b"\x1f\x81\x00\x00", "bad_tag"),  # high tag number form
        (b"\x04\x05abc", "truncated"),
        (b"\x04\x82\x01", "truncated"),
        (b"\x04", "truncated"),
        (b"", "truncated"),
    )
    for data, reason in cases:
        assert _reason(der.tlv, data, 0, len(data)) == reason, data[:8]
    assert _reason(der.tlv, b"\x04\x00", 0, 5) == "truncated"  # end past the buffer
    assert _reason(der.tlv, b"\x04\x00", -1, 2) == "truncated"


def test_expect_names_the_tag():
    assert der.expect(b"\x02\x01\x05", 0, 3, der.INTEGER) == (2, 3)
    try:
        der.expect(b"\x02\x01\x05", 0, 3, der.SEQUENCE)
    except PKIError as e:
        assert e.reason == "unexpected" and "0x02" in e.detail and "0x30" in e.detail
    else:
        raise AssertionError


def test_integers():
    assert der.uint(b"\x00", 0, 1) == 0
    assert der.uint(b"\x7f", 0, 1) == 127
    assert der.uint(b"\x00\x80", 0, 2) == 128
    assert der.uint(b"\x01\x00", 0, 2) == 256
    big = b"\x00" + b"\xff" * 256
    assert der.uint(big, 0, len(big)) == (1 << 2048) - 1
    assert _reason(der.uint, b"\x80", 0, 1) == "bad_integer"  # negative
    assert _reason(der.uint, b"", 0, 0) == "bad_integer"
    assert _reason(der.uint, b"\x00\x7f", 0, 2) == "not_der"
    assert _reason(der.uint, b"\x00\x00\x80", 0, 3) == "not_der"
    for v in (0, 1, 127, 128, 255, 256, 65535, 1 << 255, (1 << 256) - 1):
        e = der.enc_uint(v)
        assert e[0] == der.INTEGER
        s, t = der.expect(e, 0, len(e), der.INTEGER)
        assert t == len(e) and der.uint(e, s, t) == v, v


def test_bit_strings_and_booleans():
    assert der.bits(b"\x00ab", 0, 3) == (1, 3)
    assert _reason(der.bits, b"\x01ab", 0, 3) == "bad_bit_string"
    assert _reason(der.bits, b"", 0, 0) == "bad_bit_string"
    assert der.boolean(b"\xff", 0, 1) is True and der.boolean(b"\x00", 0, 1) is False
    assert _reason(der.boolean, b"\x01", 0, 1) == "not_der"
    assert _reason(der.boolean, b"\xff\xff", 0, 2) == "not_der"


def _t(text, tag=None):
    b = text.encode()
    return der.time(b, tag or (der.UTC_TIME if len(b) == 13 else der.GEN_TIME), 0, len(b))


def test_times():
    assert _t("700101000000Z") == 0
    assert _t("500101000000Z") == -631152000  # YY >= 50: 19YY
    assert _t("491231235959Z") == 2524607999  # YY < 50: 20YY
    assert _t("260101000000Z") == _t("20260101000000Z") == 1767225600
    assert _t("20000229120000Z") == 951825600  # 2000 is a leap year
    assert _t("20380119031408Z") == 2147483648  # past 31-bit seconds
    assert _t("21000301000000Z") == 4107542400
    assert _t("19000301000000Z") == -2203891200
    assert _t("99991231235959Z") == 253402300799  # RFC 5280's "no expiry"
    for bad in (
        "19000229000000Z",  # 1900 is not a leap year
        "20230229000000Z",
        "20260132000000Z",
        "20261301000000Z",
        "20260100000000Z",
        "20260101240000Z",
        "20260101006000Z",
        "20260101000060Z",
        "20260101000000",  # no Z
        "2026010100000Z",  # a digit short
        "20260101000000.5Z",  # fractions are not RFC 5280
        "202601010000+0100",
        "2026-1-01000000Z",
        "2601010000Z",  # UTCTime without seconds
    ):
        assert _reason(_t, bad) == "bad_time", bad
    assert _reason(_t, "260101000000Z", der.GEN_TIME) == "bad_time"  # length/tag mismatch
    assert _reason(_t, "20260101000000Z", der.UTC_TIME) == "bad_time"
    assert _reason(_t, "20260101000000Z", der.OCTET_STRING) == "bad_time"


def test_writer_lengths():
    for n in (0, 1, 127, 128, 255, 256, 1000):
        e = der.enc(der.OCTET_STRING, bytes(n))
        assert der.tlv(e, 0, len(e)) == (4, len(e) - n, len(e)), n
    e = der.enc(der.SEQUENCE, b"\x02\x01\x01", b"\x05\x00")
    assert e == b"\x30\x05\x02\x01\x01\x05\x00"


def test_error_text():
    e = PKIError("bad_time", "at 5")
    assert str(e) == "bad_time: at 5" and e.reason == "bad_time"
    assert str(PKIError("x")) == "x"
