"""DNY (AP3000) framing: frames out, a streaming parser in, fields read by length.

A frame (../shared/DNY.md section 1):
    "DNY" | length u16 | physical id u32 | message id u16 | command u8 | data n | checksum u16
all little-endian; length = n + 9 (physical id through checksum), the frame is length + 5
bytes; the checksum is the byte sum from "D" through the last data byte, mod 65536.

The parser keeps one fixed buffer: the link reads straight into space() and frames come out
of next() as memoryviews into that buffer (valid until the next space() call), so nothing is
allocated per byte. It resynchronises on anything that is not a good frame: it looks for
"DNY", checks the length (9..MAX_IN) and the checksum, and skips one byte and looks again
when either is wrong, so split, merged and damaged frames and stray bytes (a module's
`link`, an ICCID) cost only the frames they hit.

Fields are read by length (u8, u16, u32, raw below): a shorter frame of a known command
leaves its trailing fields None ("not set"), extra bytes are ignored.
"""
import micropython
from micropython import const

HEAD = b"DNY"
HDR = const(12)  # bytes before the data: head 3, length 2, physical id 4, message id 2, command 1
MIN_LEN = const(9)  # a length field below this cannot hold id, message id, command and checksum
MAX_IN = const(512)  # longest length field accepted inbound (legacy F8 OTA packets are 269)
MAX_OUT = const(256)  # "at most 256 bytes per packet": what we send stays within the vendor's limit
_BUF = const(768)  # holds one longest frame and a read's worth more


def checksum(mv):
    """Byte sum of mv mod 65536 (the sum() of a memoryview allocates nothing per byte)."""
    return sum(mv) & 0xFFFF


@micropython.viper
def _sum(buf: ptr8, i: int, j: int) -> int:
    # the parser's checksum over buf[i:j] without a memoryview per frame
    s = 0
    while i < j:
        s += buf[i]
        i += 1
    return s & 0xFFFF


def encode(phys, mid, cmd, data=b""):
    """One frame as a new bytearray; ValueError when it would exceed MAX_OUT."""
    n = len(data)
    if n + MIN_LEN > MAX_OUT:
        raise ValueError("frame of %d data bytes exceeds %d" % (n, MAX_OUT))
    f = bytearray(HDR + n + 2)
    f[0:3] = HEAD
    ln = n + MIN_LEN
    f[3] = ln & 0xFF
    f[4] = ln >> 8
    put32(f, 5, phys)
    f[9] = mid & 0xFF
    f[10] = (mid >> 8) & 0xFF
    f[11] = cmd
    f[HDR:HDR + n] = data
    s = checksum(memoryview(f)[: HDR + n])
    f[HDR + n] = s & 0xFF
    f[HDR + n + 1] = s >> 8
    return f


def put16(b, off, v):
    b[off] = v & 0xFF
    b[off + 1] = (v >> 8) & 0xFF


def put32(b, off, v):
    b[off] = v & 0xFF
    b[off + 1] = (v >> 8) & 0xFF
    b[off + 2] = (v >> 16) & 0xFF
    b[off + 3] = (v >> 24) & 0xFF


# ---- fields by length: None when the frame is too short to hold the field
def u8(d, off):
    return d[off] if off < len(d) else None


def u16(d, off):
    return d[off] | d[off + 1] << 8 if off + 2 <= len(d) else None


def u32(d, off):
    if off + 4 > len(d):
        return None
    return d[off] | d[off + 1] << 8 | d[off + 2] << 16 | d[off + 3] << 24


def raw(d, off, n):
    """n bytes from off as bytes, or None when the frame is shorter."""
    return bytes(d[off:off + n]) if off + n <= len(d) else None


class Parser:
    """Frames from a byte stream. Use: mv = p.space(); n = readinto(mv); p.feed(n);
    then `while (f := p.next())`: f = (physical id, message id, command, data memoryview)."""

    def __init__(self, size=_BUF):
        self.buf = bytearray(size)
        self._mv = memoryview(self.buf)
        self.n = 0  # bytes held
        self.i = 0  # first byte not yet consumed
        self.frames = 0
        self.garbage = 0  # bytes skipped outside frames (stray text, noise)
        self.bad_len = 0  # "DNY" with an impossible length
        self.bad_sum = 0  # "DNY" and length fine, checksum wrong

    def space(self):
        """Where the next read goes; moves what is held to the front first (this is what
        invalidates the data of frames returned before)."""
        b = self.buf
        if self.i:
            k = self.n - self.i
            if k:
                mv = self._mv
                mv[0:k] = mv[self.i:self.n]
            self.n = k
            self.i = 0
        return self._mv[self.n:]

    def feed(self, n):
        self.n += n

    def push(self, data):
        """Copy bytes in (tests, and peers that hand over bytes); returns how many fit."""
        mv = self.space()
        k = min(len(mv), len(data))
        mv[:k] = data[:k]
        self.n += k
        return k

    def pending(self):
        """Bytes held that are not a frame yet (a partial frame or a partial "DNY")."""
        return self.n - self.i

    def stale(self):
        """Nothing more came for a while: what is held cannot be waited on for ever (a
        damaged length can claim bytes that never come). Skips one byte; next() rescans."""
        if self.n > self.i:
            self.i += 1
            self.garbage += 1

    def next(self):
        b = self.buf
        n = self.n
        i = self.i
        while True:
            j = b.find(HEAD, i, n)
            if j < 0:
                # keep a tail that may be the start of "DNY"
                keep = 2 if n - i >= 2 and b[n - 2] == 0x44 and b[n - 1] == 0x4E else (
                    1 if n > i and b[n - 1] == 0x44 else 0)
                self.garbage += n - i - keep
                self.i = n - keep
                return None
            if j > i:
                self.garbage += j - i
                i = j
            if n - i < 5:
                self.i = i
                return None
            ln = b[i + 3] | b[i + 4] << 8
            if ln < MIN_LEN or ln > MAX_IN:
                self.bad_len += 1
                i += 1
                continue
            end = i + ln + 5
            if end > n:
                self.i = i
                if end - i > len(b):  # cannot happen with MAX_IN < buffer; never wait for it
                    i += 1
                    continue
                return None
            if _sum(b, i, end - 2) != b[end - 2] | b[end - 1] << 8:
                self.bad_sum += 1
                i += 1
                continue
            self.i = end
            self.frames += 1
            return (u32(b, i + 5), b[i + 9] | b[i + 10] << 8, b[i + 11], self._mv[i + HDR:end - 2])
