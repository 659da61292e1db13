# heapsize: 512K
# One-time start codes (firmware/front/codes.py): HMAC-SHA256 against RFC 4231, derived
# codes against values computed with CPython's hmac, issued codes, each code used once
# (also after a power cut), the port, the window, the clock, a refused start.
from frontkit import Kit, front_cfg
from firmware.front.core import Front
from firmware.front.codes import CodeError, Codes, derive, hmac_sha256

SECRET = "00112233445566778899aabbccddeeff"
W = 3600 * 480000  # unix seconds at the start of window 480000 (window_s 3600)


def hexd(b):
    return "".join("%02x" % x for x in b)


def test_hmac_sha256_rfc4231_vectors():
    assert hexd(hmac_sha256(b"\x0b" * 20, b"Hi There")) == \
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    assert hexd(hmac_sha256(b"Jefe", b"what do ya want for nothing?")) == \
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert hexd(hmac_sha256(b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First")) == \
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"


def test_derived_codes_match_the_back_ends_computation():
    key = bytes.fromhex(SECRET)
    # computed with CPython's hmac module (what a back end runs), not with our code
    assert derive(key, "PILE-0001", 1, 480000) == "369043"
    assert derive(key, "PILE-0001", 2, 480000) == "732041"
    assert derive(key, "PILE-0001", 1, 480001) == "016871"  # leading zero kept


def _codes(now, **over):
    from frontkit import tmpdir

    cfg = front_cfg()
    cfg["front"]["code_secret"] = SECRET
    for k, v in over.items():
        cfg["front"][k] = v
    clock = [now]
    return Codes(cfg, lambda: clock[0], tmpdir() + "/codes.jnl"), clock, cfg


def test_a_derived_code_works_once_in_its_windows_and_only_for_its_port():
    c, clock, cfg = _codes(W + 100)
    try:
        c.check(2, "369043")
        assert False, "port 2 took port 1's code"
    except CodeError as e:
        assert e.args[0] == "code_bad"
    assert c.check(1, "369043") == ("full", 0)
    try:
        c.check(1, "369043")
        assert False, "replayed"
    except CodeError as e:
        assert e.args[0] == "code_used"
    # a power cut: the use is on flash, the replay still refused
    c2 = Codes(cfg, lambda: clock[0], c.j.path)  # the same journal after a power cut
    try:
        c2.check(1, "369043")
        assert False, "replayed after a reboot"
    except CodeError as e:
        assert e.args[0] == "code_used"
    # window 480000's code for port 2 is still good one window later (code.windows 1)...
    clock[0] = W + 3600 + 5
    assert c2.check(2, "732041") == ("full", 0)
    # ...and port 1's code of window 480001 in window 480002, not in 480003
    clock[0] = W + 2 * 3600
    assert c2.check(1, "016871") == ("full", 0)
    clock[0] = W + 3 * 3600
    try:
        c2.check(2, derive(bytes.fromhex(SECRET), "PILE-0001", 2, 480001))
        assert False, "a code two windows old was taken"
    except CodeError as e:
        assert e.args[0] == "code_bad"


def test_bad_input_and_no_clock():
    c, clock, _ = _codes(None)
    for bad in ("12345", "1234567", "12a456", ""):
        try:
            c.check(1, bad)
            assert False, bad
        except CodeError as e:
            assert e.args[0] == "code_bad"
    try:
        c.check(1, "369043")
        assert False, "checked a derived code without knowing the time"
    except CodeError as e:
        assert e.args[0] == "code_time"


def test_issued_codes_any_port_expiry_and_one_use():
    c, clock, cfg = _codes(W, code_secret="")
    c.issue("123456", 0, "money", 500, 0)
    c.issue("654321", 2, "time", 30, W + 60)
    try:
        c.issue("12345", 0)
        assert False
    except ValueError:
        pass
    try:
        c.check(1, "654321")
        assert False
    except CodeError as e:
        assert e.args[0] == "code_port"
    assert c.check(2, "123456") == ("money", 500)
    try:
        c.check(1, "123456")
        assert False
    except CodeError as e:
        assert e.args[0] == "code_used"
    clock[0] = W + 61
    try:
        c.check(2, "654321")
        assert False
    except CodeError as e:
        assert e.args[0] == "code_bad"  # expired
    clock[0] = None
    c.issue("111111", 1, "full", 0, W + 999)
    try:
        c.check(1, "111111")
        assert False
    except CodeError as e:
        assert e.args[0] == "code_time"  # an expiry cannot be judged without the time


def test_compaction_keeps_every_use_that_still_matters():
    c, clock, cfg = _codes(W, code_secret=SECRET)
    c.issue("999999", 0, "full", 0, 0)
    for i in range(300):  # fill the journal past its compaction size with issued codes used
        code = "%06d" % (100000 + i)
        c.issue(code, 0, "full", 0, 0)
        c.check(1, code)
    assert c.check(1, "369043") == ("full", 0)
    assert c.j.size() < 12000, c.j.size()
    for code in ("369043", "100299", "100000"):
        try:
            c.check(1, code)
            assert False, code
        except CodeError as e:
            assert e.args[0] in ("code_used", "code_bad"), e.args
    assert c.check(1, "999999") == ("full", 0)  # issued, never used: survived compaction


def test_the_keypad_code_starts_a_session_and_a_refused_start_keeps_the_code():
    k = Kit()
    k.cfg["front"]["code_secret"] = SECRET
    k.rig.wall = W + 10
    from frontkit import Counter

    class Hw:
        bridge = card = voice = panel = None
        coins = None
        missing = []

        def sensors(self):
            return None

    f = Front(k.cfg, k.station, k.bus, Hw(), root=k.dir)
    k.plug(1, cc_w=200)
    k.rig.pile.start(1, "full", 0, "x", "service")  # port 1 busy: the code's start is refused
    assert f.code(1, "369043") is None
    assert ("refused", 1, "port_busy", None) in k.says()
    k.rig.pile.stop(1)
    k.rig.run(2)
    sid = f.code(1, "369043")  # the same code, now that the port is free
    assert sid is not None
    info = k.station.port(1)
    assert info["id_tag"] == "code-369043" and info["method"] == "code" and info["kind"] == "full"
    assert f.code(1, "369043") is None and k.says()[-1] == ("refused", 1, "code_used", None)


def test_a_back_end_cannot_write_nonsense_into_the_codes_or_the_card_list():
    from frontkit import Wire
    from firmware.station import Refused

    k = Kit()

    class Hw:
        bridge = voice = panel = coins = None
        card = Wire()
        missing = []

        def sensors(self):
            return None

    f = Front(k.cfg, k.station, k.bus, Hw(), root=k.dir)
    k.station.attach(front=f)
    bad = [
        (k.station.issue_code, ("12345",), "bad_args"),
        (k.station.issue_code, ("123456", 9), "no_such_port"),
        (k.station.issue_code, ("123456", 1, "beer", 5), "bad_budget"),
        (k.station.issue_code, ("123456", 1, "time", 0), "bad_budget"),
        (k.station.issue_code, ("123456", 1, "full", 0, -1), "bad_args"),
        (k.station.set_card, ("A1B2 C3D4", "full", 0), "bad_args"),
        (k.station.set_card, ("A1B2C3D4\nFFFFFFFF", "full", 0), "bad_args"),
        (k.station.set_card, ("A1B2C3D4", "money", 0), "bad_budget"),
        (k.station.set_card, ("A1B2C3D4", "money", 500, -3), "bad_args"),
    ]
    for fn, args, code in bad:
        try:
            fn(*args)
            assert False, args
        except Refused as e:
            assert e.code == code, (args, e.code)
    k.station.set_card("A1B2C3D4", "money", 500, 2000)
    k.station.issue_code("123456", 1, "time", 30, 0)
    assert f.cards.lookup("A1B2C3D4") == ["A1B2C3D4", "money", 500, 2000, 0]
    assert f.codes.check(1, "123456") == ("time", 30)
