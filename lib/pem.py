"""PEM (RFC 7468): the base64 text between "-----BEGIN <label>-----" and "-----END <label>-----".

blocks(src, label) decodes each block of a text or stream one line at a time, holding only
the block's DER; encode(der, label) makes one. Lax as RFC 7468 5.2 allows: text around
blocks, any line length, spaces and tabs; and a block on one line, markers included, as some
back ends send it after stripping the line breaks. Strict base64 (alphabet, padding only at
the end, canonical last character). Its own module so that a caller can decode
a certificate's PEM, drop this, and then parse (the heap holds one of them at a time).
Errors are der.PKIError. Bounded: MAX_PEM bytes of DER per block, MAX_BLOCKS blocks.
"""
from binascii import a2b_base64, b2a_base64

from der import PKIError

MAX_PEM = 8192  # DER bytes per block: a CertificateSigned chain is <= 10000 characters
MAX_BLOCKS = 8
_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def _lines(src):
    """Lines (bytes, without the line break) of a bytes/str text or of a stream with
    readline(), so a chain can be read from a file one line at a time."""
    if isinstance(src, str):
        src = src.encode()
    if hasattr(src, "readline"):
        while True:
            line = src.readline()
            if not line:
                return
            if isinstance(line, str):
                line = line.encode()
            yield line.rstrip(b"\r\n")
    pos = 0
    n = len(src)
    while pos < n:
        e = src.find(b"\n", pos)
        if e < 0:
            e = n
        yield src[pos:e].rstrip(b"\r")
        pos = e + 1


def _pieces(src):
    """The lines of src, each "-----...-----" marker split out as a piece of its own."""
    for line in _lines(src):
        while True:
            i = line.find(b"-----")
            j = line.find(b"-----", i + 5) if i >= 0 else -1
            if j < 0:
                yield line
                break
            if line[:i].strip():
                yield line[:i]
            yield line[i : j + 5]
            line = line[j + 5 :]
            if not line.strip():
                break


def blocks(src, label="CERTIFICATE"):
    """Yields the DER of each `label` block of a PEM text, in order (a chain: the
    certificate first, then its issuers), as a bytearray. Text outside blocks is ignored
    (RFC 7468 allows it); a block of another label is skipped. Each line is decoded as it
    comes, so only the block's DER is held. Raises PKIError on an unterminated block, bad
    or non-canonical base64, a block above MAX_PEM bytes, and after MAX_BLOCKS blocks."""
    begin = b"-----BEGIN " + label.encode() + b"-----"
    endl = b"-----END " + label.encode() + b"-----"
    out = None  # the block being decoded
    count = 0
    for line in _pieces(src):
        line = line.strip()
        if out is None:
            if line == begin:
                count += 1
                if count > MAX_BLOCKS:
                    raise PKIError("too_many", "more than %d PEM blocks" % MAX_BLOCKS)
                out = bytearray()
                carry = b""  # base64 characters short of a group of 4
                padded = False
            continue
        if line == endl:
            if carry or not out:
                raise PKIError("bad_pem", "base64 length")
            yield out
            out = None
            continue
        if line.startswith(b"-----"):
            raise PKIError("bad_pem", "%s inside a block" % line[:40])
        if len(line) > 4 * MAX_PEM // 3 + 4:
            raise PKIError("too_large", "PEM block above %d bytes" % MAX_PEM)
        for c in line:
            if c not in _B64 and c not in b" \t":
                raise PKIError("bad_pem", "character 0x%02x in base64" % c)
        line = carry + line.replace(b" ", b"").replace(b"\t", b"")
        n = len(line) & ~3
        carry = line[n:]
        if not n:
            continue
        # MicroPython's decoder skips characters it does not know and accepts some bad
        # padding: the alphabet is checked above, '=' and canonical form here.
        eq = line.find(b"=")
        if padded or eq >= 0 and (eq < n - 2 or line[n - 1] != 0x3D):
            raise PKIError("bad_pem", "'=' inside base64")
        try:
            dec = a2b_base64(line[:n])
        except ValueError:
            raise PKIError("bad_pem", "base64") from None
        if eq >= 0:
            padded = True
            k = 2 - (line[n - 2] == 0x3D)  # the last group's bytes: 2 before "=", 1 before "=="
            if b2a_base64(dec[-k:])[:-1] != line[n - 4 : n]:  # stray bits in the last char
                raise PKIError("bad_pem", "non-canonical base64")
        if len(out) + len(dec) > MAX_PEM:
            raise PKIError("too_large", "PEM block above %d bytes" % MAX_PEM)
        out.extend(dec)
    if out is not None:
        raise PKIError("bad_pem", "no END line")


def encode(der, label):
    """DER bytes -> a PEM block (64-character lines), as bytes."""
    out = [b"-----BEGIN " + label.encode() + b"-----\n"]
    for i in range(0, len(der), 48):
        out.append(b2a_base64(der[i : i + 48]))
    out.append(b"-----END " + label.encode() + b"-----\n")
    return b"".join(out)
