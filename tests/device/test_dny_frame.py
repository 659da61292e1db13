# heapsize: 64K
# DNY framing (firmware/proto/dny/frame.py) against every frame example of the vendor guides
# and frames captured from real sockets (dnyvectors.py): each parses to its header fields and
# is re-encoded byte for byte; the streaming parser survives split and merged frames, noise,
# the modules' own text (ICCID, "link") and bad checksums, takes frames up to 512 bytes of
# length and nothing longer, and never allocates per byte.
import gc

from dnyvectors import CAPTURED, VENDOR, frame_bytes
from firmware.proto.dny import frame


def _all():
    for name, h in VENDOR + CAPTURED:
        yield name, frame_bytes(h)


def _parse_all(p):
    out = []
    while True:
        f = p.next()
        if f is None:
            return out
        out.append((f[0], f[1], f[2], bytes(f[3])))


def test_every_published_frame_parses_and_re_encodes_exactly():
    assert len(VENDOR) == 33  # 29 in the device guide, 4 in the host guide
    for name, b in _all():
        p = frame.Parser()
        p.push(b)
        got = _parse_all(p)
        assert len(got) == 1, name
        phys, mid, cmd, data = got[0]
        assert phys == b[5] | b[6] << 8 | b[7] << 16 | b[8] << 24, name
        assert (mid, cmd, len(data)) == (b[9] | b[10] << 8, b[11], len(b) - 14), name
        assert frame.encode(phys, mid, cmd, data) == b, name
        assert p.garbage == 0 and p.bad_sum == 0 and p.bad_len == 0, name


def test_physical_ids_and_fields_of_the_examples():
    p = frame.Parser()
    p.push(frame_bytes(VENDOR[0][1]))  # the guide's example socket: wire 3B 37 AB 04
    phys, mid, cmd, data = p.next()
    assert (phys >> 24, phys & 0xFFFFFF, mid, cmd) == (0x04, 0xAB373B, 0xB9, 0x01)
    assert frame.u16(data, 0) == 126 and frame.u16(data, 2) == 2188  # fw 1.26, 218.8 V
    # by length: fields past the end are "not set", never an error
    assert frame.u8(data, len(data)) is None and frame.u16(data, len(data) - 1) is None
    assert frame.u32(data, len(data) - 3) is None and frame.raw(data, 10, 100) is None
    p.push(frame_bytes(VENDOR[5][1]))  # 22 answer: 0x5FA90E09 = 2020-11-09
    assert frame.u32(p.next()[3], 0) == 0x5FA90E09


def test_split_merged_noise_and_module_text_resynchronise():
    frames = [b for _, b in _all()]
    stream = bytearray(b"89860413161892009275")  # the module's ICCID preamble
    for i, b in enumerate(frames):
        stream += b
        if i % 3 == 0:
            stream += b"link"  # keep-alive text between frames
        if i % 5 == 1:
            stream += b"\x00\xffDN\x44\x4e\x59\x01"  # noise, a false head with a bad length
    p = frame.Parser()
    got = []
    step = 1
    pos = 0
    while pos < len(stream):  # pieces of 1..13 bytes: every split position is met
        k = min(step, len(stream) - pos)
        p.push(stream[pos:pos + k])
        pos += k
        step = step % 13 + 1
        got += _parse_all(p)
    assert [x[3] for x in got] == [b[12:-2] for b in frames]
    assert p.garbage > 20 and p.bad_len > 0
    # merged: everything in one read
    p = frame.Parser()
    whole = b"".join(frames[:8])
    p.push(whole)
    assert len(_parse_all(p)) == 8


def test_bad_checksum_is_skipped_and_the_next_frame_still_comes():
    good = frame_bytes(VENDOR[6][1])
    bad = bytearray(good)
    bad[-1] ^= 1
    p = frame.Parser()
    p.push(bytes(bad) + good)
    got = _parse_all(p)
    assert len(got) == 1 and got[0][3] == good[12:-2] and p.bad_sum == 1


def test_long_frames_up_to_512_in_none_above_and_none_out_above_256():
    # a legacy F8 OTA packet: 256 data bytes, length 269 (> the guide's 256)
    data = bytes(range(256))
    f = bytearray(frame.HDR + 256 + 2)
    f[0:3] = b"DNY"
    frame.put16(f, 3, 256 + 9)
    frame.put32(f, 5, 0x05000001)
    frame.put16(f, 9, 7)
    f[11] = 0xF8
    f[12:268] = data
    frame.put16(f, 268, frame.checksum(memoryview(f)[:268]))
    p = frame.Parser()
    p.push(f)
    phys, mid, cmd, d = p.next()
    assert (cmd, bytes(d)) == (0xF8, data)
    # the longest accepted: length 512
    big = bytearray(512 + 5)
    big[0:3] = b"DNY"
    frame.put16(big, 3, 512)
    frame.put16(big, 515, frame.checksum(memoryview(big)[:515]))
    p.push(big)
    assert len(p.next()[3]) == 512 - 9
    # length 513: refused as a length, the bytes skipped, the next frame found
    big[3:5] = b"\x01\x02"
    frame.put16(big, 515, frame.checksum(memoryview(big)[:515]))
    p.push(big[:300])
    p.push(big[300:])
    assert p.next() is None and p.bad_len >= 1
    good = frame_bytes(VENDOR[4][1])
    p.push(good)
    assert bytes(p.next()[3]) == b""
    # we never send more than the guide's 256 bytes
    try:
        frame.encode(1, 1, 0x03, bytes(248))
        raise AssertionError("encoded a 257-byte length")
    except ValueError:
        pass
    assert len(frame.encode(1, 1, 0x03, bytes(247))) == 256 + 5


def test_a_false_length_is_given_up_when_nothing_more_comes():
    # a damaged length claims more bytes than will ever come; stale() lets the frame behind it out
    good = frame_bytes(VENDOR[7][1])
    fake = b"DNY\xff\x01"  # length 511: waits for bytes
    p = frame.Parser()
    p.push(fake + good)
    assert p.next() is None and p.pending() == len(fake) + len(good)
    p.stale()
    got = _parse_all(p)
    assert len(got) == 1 and got[0][2] == 0x21


def test_parsing_a_stream_allocates_nothing_per_byte():
    frames = memoryview(b"".join(b for _, b in _all()))
    p = frame.Parser()
    gc.collect()
    before = gc.mem_alloc()
    n = reads = 0
    for _ in range(3):
        pos = 0
        while pos < len(frames):
            reads += 1
            mv = p.space()
            k = min(len(mv), len(frames) - pos, 97)
            mv[:k] = frames[pos:pos + k]
            p.feed(k)
            pos += k
            while p.next() is not None:
                n += 1
    grew = gc.mem_alloc() - before
    # per read a few memoryviews (this test's slicing too), per frame the data view and the
    # tuple; per byte nothing (an allocation per byte would add 16 bytes or more per byte)
    assert n == 3 * (len(VENDOR) + len(CAPTURED))
    assert grew < 128 * (n + reads), (grew, n, reads, 3 * len(frames))
