"""DER (X.690) reading and writing for the PKI code (PEM is lib/pem.py).

The reader works on offsets into one bytes-like buffer and never copies content: tlv()
returns (tag, start, stop) of one element, so a certificate is walked without building a
tree. Every malformed input ends in PKIError(reason, detail), the one error of lib/der,
pem, x509, eckey and csr (rsa and p256 answer False instead); callers catch that alone. Strict DER
only (definite, minimal lengths; minimal integers): a BER encoding is not what a signer
hashed, so accepting it would only widen what an attacker can feed us.
Bounded: an element of at most 65535 bytes (a length in 1 or 2 bytes).
"""

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
OID = 0x06
BOOLEAN = 0x01
UTC_TIME = 0x17
GEN_TIME = 0x18


class PKIError(Exception):
    """Any rejection by the PKI modules: .reason is a stable code, .detail says what came."""

    def __init__(self, reason, detail=""):
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    def __str__(self):
        return self.reason + (": " + self.detail if self.detail else "")


def tlv(b, pos, end):
    """The element at b[pos:end] -> (tag, start, stop): its content is b[start:stop]."""
    if pos < 0 or end > len(b) or end - pos < 2:
        raise PKIError("truncated", "element header at %d" % pos)
    tag = b[pos]
    if tag & 0x1F == 0x1F:
        raise PKIError("bad_tag", "high tag number at %d" % pos)  # none in what we read
    n = b[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0:
            raise PKIError("not_der", "indefinite length at %d" % (pos - 2))
        if k > 2:
            raise PKIError("too_large", "%d length bytes at %d" % (k, pos - 2))
        if end - pos < k:
            raise PKIError("truncated", "length at %d" % (pos - 2))
        n = b[pos]
        if k == 2:
            n = n << 8 | b[pos + 1]
        pos += k
        if n < 0x80 or (k == 2 and n < 0x100):
            raise PKIError("not_der", "long form for a short length at %d" % (pos - k - 2))
    if n > end - pos:
        raise PKIError("truncated", "%d content bytes at %d, %d left" % (n, pos, end - pos))
    return tag, pos, pos + n


def expect(b, pos, end, tag):
    """The element at pos must have this tag -> (start, stop)."""
    t, start, stop = tlv(b, pos, end)
    if t != tag:
        raise PKIError("unexpected", "tag 0x%02x at %d, wanted 0x%02x" % (t, pos, tag))
    return start, stop


def uint(b, start, stop):
    """A DER INTEGER's content as a non-negative int (minimal encoding, not negative)."""
    if stop <= start:
        raise PKIError("bad_integer", "empty at %d" % start)
    if b[start] & 0x80:
        raise PKIError("bad_integer", "negative at %d" % start)
    if b[start] == 0 and stop - start > 1 and not b[start + 1] & 0x80:
        raise PKIError("not_der", "integer with a needless leading zero at %d" % start)
    return int.from_bytes(b[start:stop], "big")


def bits(b, start, stop):
    """A BIT STRING of whole bytes (keys, signatures) -> (start, stop) of those bytes."""
    if stop <= start or b[start] != 0:
        raise PKIError("bad_bit_string", "unused bits or empty at %d" % start)
    return start + 1, stop


def boolean(b, start, stop):
    if stop - start != 1 or b[start] not in (0, 0xFF):
        raise PKIError("not_der", "boolean at %d" % start)
    return b[start] == 0xFF


def _digits(b, i, n):
    v = 0
    for j in range(i, i + n):
        c = b[j] - 48
        if not 0 <= c <= 9:
            raise PKIError("bad_time", "not a digit at %d" % j)
        v = v * 10 + c
    return v


def time(b, tag, start, stop):
    """UTCTime (YYMMDDHHMMSSZ, RFC 5280 4.1.2.5.1: YY < 50 is 20YY) or GeneralizedTime
    (YYYYMMDDHHMMSSZ) -> seconds since 1970-01-01 UTC. Only the forms RFC 5280 allows."""
    n = stop - start
    if tag == UTC_TIME and n == 13:
        y = _digits(b, start, 2)
        y += 2000 if y < 50 else 1900
        i = start + 2
    elif tag == GEN_TIME and n == 15:
        y = _digits(b, start, 4)
        i = start + 4
    else:
        raise PKIError("bad_time", "tag 0x%02x length %d at %d" % (tag, n, start))
    if b[stop - 1] != 0x5A:  # 'Z': RFC 5280 times are UTC, with seconds, no fraction
        raise PKIError("bad_time", "not Z-terminated at %d" % start)
    mo, d, h, mi, s = (_digits(b, i + 2 * k, 2) for k in range(5))
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    mdays = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    if not (1 <= mo <= 12 and 1 <= d <= mdays[mo - 1] and h < 24 and mi < 60 and s < 60):
        raise PKIError("bad_time", "field out of range at %d" % start)
    # days from 1970-01-01 (proleptic Gregorian: a March-based year puts Feb 29 last)
    yy = y - (mo <= 2)
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return ((days * 24 + h) * 60 + mi) * 60 + s


# Writing: tiny, for CSRs, keys and ECDSA signatures.
def enc(tag, *parts):
    """One DER element whose content is the concatenation of parts."""
    body = b"".join(parts)
    n = len(body)
    if n > 0xFFFF:
        raise PKIError("too_large", "element of %d bytes" % n)
    if n < 0x80:
        head = bytes((tag, n))
    elif n < 0x100:
        head = bytes((tag, 0x81, n))
    else:
        head = bytes((tag, 0x82, n >> 8, n & 0xFF))
    return head + body


def enc_uint(v):
    """A non-negative int as a DER INTEGER."""
    n = 1
    while v >> (8 * n):
        n += 1
    body = v.to_bytes(n, "big")
    if body[0] & 0x80:
        body = b"\0" + body
    return enc(INTEGER, body)
