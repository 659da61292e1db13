# Metering-IC parsers fed real frames (built by the sim's encoders), garbage, truncation
# and counter wrap-around.
from chgsim import frames, physics, Rand, Rig
from firmware.meter.hlw8032 import HLW8032
from firmware.meter.bl0942 import BL0942
from firmware.meter.bl0939 import BL0939


def _near(a, b, tol):
    return abs(a - b) <= tol


def test_hlw8032_frames_scale_by_calibration():
    enc = frames.HLW8032Enc(kv_milli=1880, ki_milli=1000)
    m = HLW8032(1880, 1000)
    f = enc.frame(220.0, 1.5, 300.0, 0.0)
    assert len(f) == 24 and f[1] == 0x5A
    m.feed(f)
    assert m.ch.seq == 0  # first frame only arms the parser
    m.feed(enc.frame(221.0, 1.5, 301.0, 1.0))
    ch = m.ch
    assert ch.seq == 1
    # register resolution limits accuracy to ~0.05 %
    assert _near(ch.v_mv, 221000, 250) and _near(ch.i_ma, 1500, 3) and _near(ch.p_mw, 301000, 300)
    m.feed(enc.frame(221.0, 1.5, 301.0, 11.0))
    assert ch.seq == 2
    assert _near(ch.energy_mwh(), 10000, 5)  # 10 Wh between the confirmed frames


def test_hlw8032_other_calibration_changes_scaling():
    enc = frames.HLW8032Enc(kv_milli=2000, ki_milli=500)
    m = HLW8032(2000, 500)
    for _ in range(2):
        m.feed(enc.frame(230.0, 2.0, 250.0, 0.0))
    assert _near(m.ch.v_mv, 230000, 250) and _near(m.ch.i_ma, 2000, 3) and _near(m.ch.p_mw, 250000, 300)


def test_hlw8032_no_load_overflow_reads_zero_power():
    enc = frames.HLW8032Enc()
    m = HLW8032()
    for _ in range(3):
        m.feed(enc.frame(220.0, 0.0, 0.0, 0.0))
    # the chip flags only the power period (0xF2); the current reads the channel's noise
    assert m.ch.seq == 2 and m.ch.p_mw == 0 and 0 < m.ch.i_ma < 100 and _near(m.ch.v_mv, 220000, 250)


def test_hlw8032_chip_error_state_gives_no_reading():
    enc = frames.HLW8032Enc()
    m = HLW8032()
    for _ in range(5):
        m.feed(enc.frame(220.0, 1.0, 200.0, 0.0, state=0xAA))
    assert m.ch.seq == 0 and m.chip_errors == 5


def test_hlw8032_energy_across_pf_wrap():
    enc = frames.HLW8032Enc()
    m = HLW8032()
    per_wh = enc.pulses_per_wh()
    e = 0.0
    # 3 wraps of the 16-bit PF counter in steps of ~0.2 of a wrap
    step = 0.2 * 65536 / per_wh
    m.feed(enc.frame(220.0, 1.0, 200.0, e))
    for _ in range(16):
        e += step
        m.feed(enc.frame(220.0, 1.0, 200.0, e))
    got = m.ch.energy_mwh()
    assert m.ch.pulses >= 3 * 65536
    assert _near(got, int((e - step) * 1000), 6)  # first frame only armed the parser; 1 pulse ~2.6 mWh


def test_bl0942_frames_and_cf_wrap():
    enc = frames.BL0942Enc()
    m = BL0942()
    assert bytes(m.request()) == b"\x58\xaa"
    e = 0.0
    m.feed(enc.frame(220.0, 1.2, 260.0, e))
    m.feed(enc.frame(220.0, 1.2, 260.0, e))
    assert m.ch.seq == 1
    assert _near(m.ch.v_mv, 220000, 2) and _near(m.ch.i_ma, 1200, 2) and _near(m.ch.p_mw, 260000, 2)
    wrap_wh = 0x1000000 * 1000 / 3305
    for _ in range(45):  # steps of 1/20 of the 24-bit counter, 2.25 wraps
        e += wrap_wh / 20
        m.feed(enc.frame(220.0, 1.2, 260.0, e))
    assert m.ch.pulses >= 0x1000000 * 2
    assert _near(m.ch.energy_mwh(), int(e * 1000), 400)


def test_bl0939_two_channels():
    enc = frames.BL0939Enc()
    m = BL0939()
    assert bytes(m.request()) == b"\x55\xaa"
    f = enc.frame(225.0, (1.0, 150.0, 0.0), (2.0, 380.0, 0.0))
    assert len(f) == 35
    m.feed(f)
    m.feed(enc.frame(225.0, (1.0, 150.0, 2.0), (2.0, 380.0, 5.0)))
    a, b = m.channels()
    assert a.seq == 1 and b.seq == 1
    assert _near(a.p_mw, 150000, 2) and _near(b.p_mw, 380000, 2) and _near(a.v_mv, 225000, 2)
    m.feed(enc.frame(225.0, (1.0, 150.0, 3.0), (2.0, 380.0, 9.0)))
    assert _near(a.energy_mwh(), 1000, 400) and _near(b.energy_mwh(), 4000, 400)


def _hexb(s):
    return bytes(int(x, 16) for x in s.split())


# BL0942 in a plug (Tasmota issue 14829), nothing switched on: I_RMS 0 (cut in creep),
# WATT 0, FREQ 0x4E5E, STATUS 0x22 / 0x02 (CREEP_F) with bit 8 set (current below the
# zero-crossing threshold), CF_CNT 0x0001A2 standing still
BL0942_IDLE = ("55 00 00 00 9C CA 37 37 43 00 00 00 00 A2 01 00 5E 4E 00 22 01 00 C9",
               "55 00 00 00 8F CE 37 A5 42 00 00 00 00 A2 01 00 5E 4E 00 02 01 00 85")


def test_bl0942_captured_creep_frames_are_readings_of_zero():
    m = BL0942(15873, 251213, 596, 3305)
    for s in BL0942_IDLE + BL0942_IDLE:
        m.feed(_hexb(s))
    ch = m.ch
    assert ch.seq == 3 and m.bad == 0
    assert ch.p_mw == 0 and ch.i_ma == 0 and _near(ch.v_mv, 0x37CE8F * 1000 // 15873, 1) and ch.pulses == 0


def test_bl0942_encoder_no_load_and_no_voltage_frames():
    enc = frames.BL0942Enc()
    f = enc.frame(220.0, 0.0, 0.0, 0.0)
    assert f[19] == 0x02 and f[20] == 0x01 and f[1:4] == b"\0\0\0" and f[10:13] == b"\0\0\0"
    f = enc.frame(220.0, 0.001, 0.1, 0.0)  # under WA_CREEP (~0.22 W): the chip shows nothing
    assert f[19] == 0x02 and f[10:13] == b"\0\0\0"
    f = enc.frame(0.0, 0.0, 0.0, 0.0)
    assert f[20] == 0x03 and f[16] | f[17] << 8 == 20000  # no voltage: FREQ keeps its last value
    f = enc.frame(220.0, 1.3, 280.0, 0.0)
    assert f[19] == 0 and f[20] == 0x00
    m = BL0942()
    for v, i, p in ((220.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (220.0, 0.0, 0.0)):
        m.feed(enc.frame(v, i, p, 0.0))
    assert m.ch.seq == 3 and m.bad == 0 and m.ch.p_mw == 0


def test_bl0942_frequency_register_is_16_bits():
    enc = frames.BL0942Enc()
    good = enc.frame(220.0, 1.0, 200.0, 0.0)
    bad = bytearray(good)
    bad[18] = 1  # FREQ's top byte is always 0 on the chip
    bad[22] = (~(0x58 + sum(bad[:22]))) & 0xFF
    m = BL0942()
    for _ in range(3):
        m.feed(bytes(bad))
    assert m.ch.seq == 0 and m.bad == 3


def test_bl0939_channel_in_creep_reads_zero_beside_a_loaded_one():
    enc = frames.BL0939Enc()
    m = BL0939()
    for e in (0.0, 1.0):
        m.feed(enc.frame(220.0, (0.0, 0.0, 0.0), (1.6, 330.0, e)))
    a, b = m.channels()
    assert a.seq == 1 and a.p_mw == 0 and a.i_ma == 0 and _near(b.p_mw, 330000, 2) and _near(a.v_mv, 220000, 2)


def _nothing_plugged_never_silent(chip, mains_v):
    r = Rig(n=2, chip=chip)
    r.plant.mains_v = mains_v
    r.run(3 * r.cfg["charging"]["meter_timeout_ms"] // 1000 + 5)
    for i in (1, 2):
        assert r.pile.status(i) == "Available" and "Faulted" not in r.statuses(i), (chip, mains_v, r.events)
    assert r.board.channel(0).seq > 5 and r.board.channel(0).p_mw == 0


def test_port_with_nothing_plugged_is_not_a_silent_meter():
    # a port with no load (and a meter whose voltage input sees no mains) sends good frames
    # of 0 W: the meter is alive, the port must not fault "meter_silent"
    for chip in ("hlw8032", "bl0942"):
        _nothing_plugged_never_silent(chip, physics.MAINS_V)
        _nothing_plugged_never_silent(chip, 0.0)


def _parsers():
    return [(HLW8032(), frames.HLW8032Enc(), 24), (BL0942(), frames.BL0942Enc(), 23), (BL0939(), frames.BL0939Enc(), 35)]


def _frame(enc, p):
    if isinstance(enc, frames.BL0939Enc):
        return enc.frame(220.0, (1.0, p, 0.0), (1.0, p, 0.0))
    return enc.frame(220.0, 1.0, p, 0.0)


def test_random_bytes_never_yield_a_reading_nor_raise():
    r = Rand(12345)
    for m, enc, _ in _parsers():
        buf = bytearray(256)
        for _ in range(400):  # 100 KiB per parser
            for i in range(256):
                buf[i] = r.next() & 0xFF
            m.feed(buf, 256)
        for ch in m.channels():
            assert ch.seq == 0 and ch.pulses == 0
        assert m.bad > 0


def test_head_heavy_garbage_never_yields_a_reading():
    # bytes biased to the sync values make many candidate frames; the checks still hold
    r = Rand(99)
    for m, enc, n in _parsers():
        pool = bytes((0x55, 0x5A, 0xAA, 0xF2, 0x00, 0xFF))
        for _ in range(3000):
            m.feed(bytes(pool[r.below(6)] if r.below(2) else r.next() & 0xFF for _ in range(n)))
        for ch in m.channels():
            assert ch.seq == 0


def test_truncated_and_corrupted_frames_are_dropped_then_resync():
    for m, enc, n in _parsers():
        good = _frame(enc, 200.0)
        m.feed(good[: n // 2])  # truncated by a glitch on the line
        m.feed(good)
        m.feed(good)
        bad = bytearray(good)
        bad[n // 2] ^= 0x10
        m.feed(bad)
        m.feed(good)  # first good after a bad one only re-arms
        seq_after_bad = m.channels()[0].seq
        m.feed(good)
        assert m.channels()[0].seq == seq_after_bad + 1
        assert m.bad >= 2


def test_frames_split_at_every_byte_boundary():
    for m, enc, n in _parsers():
        stream = _frame(enc, 300.0) * 4
        for b in stream:
            m.feed(bytes((b,)))
        assert m.channels()[0].seq == 3


def test_frame_after_noise_prefix_is_found():
    r = Rand(7)
    for m, enc, n in _parsers():
        good = _frame(enc, 300.0)
        m.feed(r.bytes(13) + good + good + good)
        assert m.channels()[0].seq == 2
