# HLW8032 parser against every state byte the datasheet defines, the data-update byte and
# the PF counter's corners. Vectors: frames captured from real chips (ElectroDragon's
# HLW8032 modules, a CSE7766 in a Sonoff POW R2; see docs/hardware.md) and frames built
# by the sim's encoder with a chosen state byte.
from chgsim import frames
from firmware.meter.hlw8032 import HLW8032
from firmware.meter.channel import FAULT_CHIP


def _hex(s):
    return bytes(int(x, 16) for x in s.split())


def _near(a, b, tol):
    return abs(a - b) <= tol


def _frame(state, vreg=1624, ireg=16000, preg=31333, upd=0x71, pf=0, vpar=190000, ipar=16000, ppar=5000000):
    """A checksummed frame with the given raw registers."""
    b = bytearray(24)
    b[0], b[1] = state, 0x5A
    for off, val in ((2, vpar), (5, vreg), (8, ipar), (11, ireg), (14, ppar), (17, preg)):
        b[off], b[off + 1], b[off + 2] = (val >> 16) & 0xFF, (val >> 8) & 0xFF, val & 0xFF
    b[20], b[21], b[22] = upd, (pf >> 8) & 0xFF, pf & 0xFF
    b[23] = sum(b[2:23]) & 0xFF
    return bytes(b)


# ElectroDragon HLW8032 module, mains on, nothing plugged: power period overflowed (0xF2),
# V and I refreshed (0x61), the current reads the channel's noise (~67 mA)
NO_LOAD = "F2 5A 02 E1 80 00 06 52 00 3E A8 03 A6 C8 4F 9A E8 5E 79 0B 61 00 01 27"
# ElectroDragon HLW8032-ISO, no mains on the voltage input: V and P overflowed (0xFA),
# nothing refreshed (0x01), the current register never measured (0, not flagged), the
# power register shows the period still being timed
NO_MAINS = ("FA 5A 02 DE 60 FE FF 01 00 3E 35 00 00 00 4E AC A0 5F 99 07 01 00 00 4B",
            "FA 5A 02 DE 60 FE FF 01 00 3E 35 00 00 00 4E AC A0 61 33 6B 01 00 00 4B",
            "FA 5A 02 DE 60 FE FF 01 00 3E 35 00 00 00 4E AC A0 FE FF 01 01 00 00 4A")
# the same kind of module with a load: all refreshed (0x71), PF counting 0x023C, 0x0240
LOADED = ("55 5A 02 DC D0 00 05 FF 00 3C D7 00 20 51 4D E5 68 00 62 43 71 02 3C 24",
          "55 5A 02 DC D0 00 05 FF 00 3C D7 00 20 51 4D E5 68 00 62 43 71 02 40 28")
# CSE7766 (HLW8032-compatible) in a Sonoff POW R2: a small load leaving the power
# overflow, PF 0x006F -> 0x0070
CSE_F2 = "F2 5A 02 B7 50 00 03 01 00 3D 36 03 6B 37 4C 72 50 E8 4E A4 61 00 6F DD"
CSE_55 = "55 5A 02 B7 50 00 02 FF 00 3D 36 03 6B 37 4C 72 50 F1 A4 AA 71 00 70 50"


def test_captured_no_load_frames_are_readings_of_zero_watts():
    m = HLW8032(1880, 1000)
    for _ in range(4):
        m.feed(_hex(NO_LOAD))
    ch = m.ch
    assert ch.seq == 3 and m.bad == 0 and ch.fault == 0
    assert ch.p_mw == 0 and _near(ch.v_mv, 188800 * 1880 // 1618, 1)  # ~219 V
    assert _near(ch.i_ma, 16040 * 1000 // 239304, 1)  # the channel's noise, not flagged
    assert ch.pulses == 0 and m.updated == 0x60


def test_captured_no_mains_frames_are_readings_of_zero():
    # before: an unflagged current register of 0 was a division by zero -> every frame
    # rejected -> the port faulted "meter_silent" with nothing wrong
    m = HLW8032(1880, 1000)
    for s in NO_MAINS:
        m.feed(_hex(s))
    ch = m.ch
    assert ch.seq == 2 and m.bad == 0
    assert ch.v_mv == 0 and ch.i_ma == 0 and ch.p_mw == 0 and ch.pulses == 0 and m.updated == 0


def test_captured_loaded_frames_scale_and_count_pf():
    m = HLW8032(1880, 1000)
    for s in LOADED:
        m.feed(_hex(s))
    ch = m.ch
    assert ch.seq == 1 and _near(ch.v_mv, 187600 * 1880 // 1535, 1) and m.updated == 0x70
    assert _near(ch.p_mw, 5105000 * 1880 // 25155, 2)
    m.feed(_frame(0x55, vpar=187600, vreg=1535, ipar=15575, ireg=8273, ppar=5105000, preg=25155, pf=0x0244))
    assert ch.seq == 2 and ch.pulses == 4


def test_pf_counts_in_power_overflow_frames():
    # a load under the power register's range still pulses PF: that energy is real
    m = HLW8032(1880, 1000)
    m.feed(_hex(CSE_F2))
    m.feed(_hex(CSE_F2))
    m.feed(_hex(CSE_55))
    assert m.ch.seq == 2 and m.ch.pulses == 1
    for pf in (0x71, 0x75, 0x7A):
        m.feed(_frame(0xF2, vpar=0x02B750, vreg=0x2FF, ipar=0x3D36, ireg=0x36B37, ppar=0x4C7250, preg=0xE84EA4,
                      upd=0x61, pf=pf))
    assert m.ch.seq == 5 and m.ch.p_mw == 0 and m.ch.pulses == 0x7A - 0x6F


def test_every_f_state_flags_exactly_its_quantities():
    for st in range(0xF0, 0x100):
        m = HLW8032(1880, 1000)
        for _ in range(2):
            m.feed(_frame(st, preg=0xFEFF01 if st & 2 else 31333))
        ch = m.ch
        if st & 1:  # coefficient storage abnormal: parameters unusable, no reading
            assert ch.seq == 0 and m.chip_errors == 2 and ch.fault == FAULT_CHIP and m.bad == 0, hex(st)
            continue
        assert ch.seq == 1 and m.bad == 0 and ch.fault == 0, hex(st)
        assert (ch.v_mv == 0) == bool(st & 8), hex(st)
        assert (ch.i_ma == 0) == bool(st & 4), hex(st)
        assert (ch.p_mw == 0) == bool(st & 2), hex(st)
        if not st & 8:
            assert _near(ch.v_mv, 219950, 250)
        if not st & 2:
            assert _near(ch.p_mw, 300000, 300)


def test_state_55_reads_all_and_a_never_measured_register_reads_zero():
    m = HLW8032(1880, 1000)
    for _ in range(2):
        m.feed(_frame(0x55, ireg=0, preg=0, upd=0x41))  # just powered: only V measured yet
    ch = m.ch
    assert ch.seq == 1 and ch.i_ma == 0 and ch.p_mw == 0 and _near(ch.v_mv, 219950, 250)


def test_state_aa_chip_error_gives_no_reading_then_recovers():
    m = HLW8032(1880, 1000)
    for _ in range(3):
        m.feed(_frame(0x55, pf=100))
    assert m.ch.seq == 2 and m.ch.pulses == 0
    for _ in range(5):
        m.feed(_frame(0xAA, pf=110))
    ch = m.ch
    assert ch.seq == 2 and m.chip_errors == 5 and ch.fault == FAULT_CHIP and m.bad == 0
    m.feed(_frame(0x55, pf=120))  # usable again: arms first (its parameters may be new)
    assert ch.seq == 2
    m.feed(_frame(0x55, pf=121))
    assert ch.seq == 3 and ch.fault == 0 and ch.pulses == 21  # pulses during the error kept


def test_other_first_bytes_never_start_a_frame():
    good = _frame(0x55)
    for st in (0x00, 0x54, 0x56, 0x5A, 0xA9, 0xAB, 0xEF):
        m = HLW8032(1880, 1000)
        for _ in range(4):
            m.feed(bytes((st,)) + good[1:])
        assert m.ch.seq == 0 and m.frames == 0, hex(st)


def test_pf_carry_bit_unfolds_a_long_gap():
    # frames missed for a long time at high power: 30000 pulses (~78 Wh, more than a quarter
    # of the 16-bit PF, which alone would read as a chip reset) pass between two frames;
    # bit7 of the data-update byte tells the wrap
    m = HLW8032(1880, 1000)
    m.feed(_frame(0x55, pf=60000))
    m.feed(_frame(0x55, pf=60000))
    c = 60000 + 30000
    m.feed(_frame(0x55, pf=c & 0xFFFF, upd=0x71 | (0x80 if c >> 16 & 1 else 0)))
    assert m.ch.pulses == 30000
    m.feed(_frame(0x55, pf=(c + 40000) & 0xFFFF, upd=0x71))  # beyond a quarter of 17 bits
    assert m.ch.pulses == 30000  # read as a chip reset: rebased, nothing invented
    m.feed(_frame(0x55, pf=(c + 40010) & 0xFFFF, upd=0x71))
    assert m.ch.pulses == 30010


def test_pf_carry_bit_late_by_a_frame_costs_nothing():
    m = HLW8032(1880, 1000)
    m.feed(_frame(0x55, pf=65500))
    m.feed(_frame(0x55, pf=65500))
    m.feed(_frame(0x55, pf=20, upd=0x71))  # PF wrapped, carry not yet toggled
    m.feed(_frame(0x55, pf=40, upd=0xF1))  # now it is
    m.feed(_frame(0x55, pf=30000, upd=0xF1))
    m.feed(_frame(0x55, pf=60000, upd=0xF1))
    m.feed(_frame(0x55, pf=5, upd=0x71))  # second wrap, carry back to 0 with it
    assert m.ch.pulses == (65536 - 65500 + 20) + 20 + 29960 + 30000 + (65536 - 60000 + 5)


def test_pf_reset_of_the_chip_rebases_without_inventing_energy():
    m = HLW8032(1880, 1000)
    m.feed(_frame(0x55, pf=30000, upd=0xF1))
    m.feed(_frame(0x55, pf=30000, upd=0xF1))
    m.feed(_frame(0x55, pf=0, upd=0x71))  # the chip restarted: PF and its carry cleared
    m.feed(_frame(0x55, pf=7, upd=0x71))
    assert m.ch.pulses == 7


def test_encoder_no_load_frames_match_the_captured_shape():
    enc = frames.HLW8032Enc()
    f = enc.frame(220.0, 0.0, 0.0, 0.0)
    ref = _hex(NO_LOAD)
    assert f[0] == ref[0] == 0xF2 and f[20] == ref[20] == 0x61
    f = enc.frame(0.0, 0.0, 0.0, 0.0)
    ref = _hex(NO_MAINS[0])
    assert f[0] == ref[0] == 0xFA and f[20] == ref[20] == 0x01 and f[11:14] == ref[11:14] == b"\0\0\0"
    assert f[5:8] == ref[5:8] == b"\xfe\xff\x01"
    f = enc.frame(220.0, 1.5, 300.0, 0.0)
    assert f[0] == 0x55 and f[20] == 0x71


def test_encoder_hold_keeps_the_last_load_until_no_load_is_detected():
    enc = frames.HLW8032Enc(hold_s=5.0)
    m = HLW8032(1880, 1000)
    m.feed(enc.frame(220.0, 1.5, 300.0, 0.0, t=0.0))
    m.feed(enc.frame(220.0, 1.5, 300.0, 0.0, t=0.05))
    seen = []
    t = 0.1
    while t < 6.0:
        f = enc.frame(220.0, 0.0, 0.0, 0.0, t=t)  # the load is gone
        m.feed(f)
        seen.append((t, f[0], f[20], m.ch.p_mw))
        t += 0.05
    stale = [s for s in seen if s[1] == 0x55]
    assert stale and all(s[2] == 0x41 and _near(s[3], 300000, 300) for s in stale)  # not refreshed
    assert stale[-1][0] < 5.1 and seen[-1][1] == 0xF2 and seen[-1][3] == 0


def test_encoder_pf_carry_toggles_on_every_wrap():
    enc = frames.HLW8032Enc()
    per = 65536 / enc.pulses_per_wh()
    bits = [enc.frame(220.0, 1.0, 200.0, k * per + per / 2)[20] >> 7 for k in range(4)]
    assert bits == [0, 1, 0, 1]


def test_after_the_mux_switches_a_reading_needs_two_whole_frames_of_the_new_meter():
    # behind the mux the UART first shows the tail of the last meter's frame: even a whole
    # stray frame of the neighbour must never confirm a reading of this one
    m = HLW8032()
    f = _frame(0x55, pf=100)
    m.feed(f)
    m.feed(_frame(0x55, pf=101))
    seq = m.ch.seq
    assert seq > 0
    m.cut()  # the ports board switched the mux away and back
    m.feed(_frame(0x55, pf=9000))  # a frame that came before the switch
    assert m.ch.seq == seq  # not a reading: nothing confirms it
    m.cut()
    m.feed(_frame(0x55, pf=102))
    assert m.ch.seq == seq
    m.feed(_frame(0x55, pf=103))
    assert m.ch.seq == seq + 1 and m.ch.pulses == 2  # 101 -> 103: the stray 9000 never counted
