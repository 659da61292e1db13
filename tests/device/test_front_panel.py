# heapsize: 512K
# The panel: the keypad's entry rules (firmware/front/keypad.py) and what the display
# shows (firmware/front/display.py): 7-segment text, the pile number, the version, the
# remaining time or money of a busy port, prompts, alarms, the port LEDs.
from frontkit import FakePanel, Kit
from firmware.bus import Event
from firmware.front.display import Display, render
from firmware.front.keypad import Keypad


class Hub:
    def __init__(self):
        self.calls = []
        self.entry = None

    def select(self, port):
        self.calls.append(("select", port))

    def code(self, port, code):
        self.calls.append(("code", port, code))

    def coin_start(self, port):
        self.calls.append(("coin", port))

    def bad_input(self):
        self.calls.append(("bad",))

    def show_entry(self, text):
        self.entry = text


def _pad(n=10, hold=20000):
    k = Kit(n=2)
    k.cfg["pile"]["ports"] = n
    h = Hub()
    clock = [0]
    return Keypad(k.cfg, h, clock=lambda: clock[0], hold_ms=hold), h, clock


def test_port_then_code_or_coins():
    pad, h, clock = _pad()
    for key in "1#":
        pad.key(key)
    assert h.calls == [("select", 1)] and pad.selected() == 1 and h.entry == "P01 -"
    for key in "123456#":
        pad.key(key)
    assert h.calls[-1] == ("code", 1, "123456") and pad.selected() is None
    for key in "10#":
        pad.key(key)
    pad.key("#")
    assert h.calls[-2:] == [("select", 10), ("coin", 10)]


def test_wrong_input_is_refused_and_changes_nothing():
    pad, h, clock = _pad(n=2)
    for key in "3#":  # no port 3
        pad.key(key)
    for key in "#":  # nothing typed, no port
        pad.key(key)
    assert h.calls == [("bad",), ("bad",)] and pad.selected() is None
    for key in "2#12345#":  # a 5-digit code
        pad.key(key)
    assert h.calls[-1] == ("bad",) and pad.selected() == 2
    for key in "9*":  # * clears what was typed, then the port
        pad.key(key)
    assert pad.buf == "" and pad.selected() == 2
    pad.key("*")
    assert pad.selected() is None and h.entry is None


def test_a_chosen_port_expires_and_a_held_key_is_one_press():
    pad, h, clock = _pad(hold=5000)
    pad.feed("1")
    pad.feed("1")  # still held at the next poll
    pad.feed("")
    pad.feed("#")
    assert pad.selected() == 1 and pad.presses == 2
    clock[0] = 5001
    assert pad.selected() is None


def test_render_digits_points_and_unknown_characters():
    out = bytearray(8)
    render("P0312.50", out)
    assert bytes(out) == bytes((0x73, 0x3F, 0x4F, 0x06, 0x5B | 0x80, 0x6D, 0x3F, 0x00))
    render("AL SnoHE", out)
    assert out[0] == 0x77 and out[3] == 0x6D and out[7] == 0x79
    render("W@", out)
    assert bytes(out) == bytes(8)  # no 7-segment form: dark, never a wrong glyph


def _disp():
    k = Kit()
    k.cfg["pile"]["id"] = "PILE-0042"
    p = FakePanel()
    clock = [0]
    d = Display(k.cfg, p, k.station, clock=lambda: clock[0], rotate_ms=1000)
    d.at = clock
    return k, p, d


def _text(p):
    from firmware.front import display

    rev = {v: c for c, v in display._SEG.items() if c not in "OSI"}
    s = ""
    for b in p.digits:
        s += rev.get(b & 0x7F, "?") + ("." if b & 0x80 else "")
    return s


def test_idle_pages_busy_ports_prompts_alarms_and_leds():
    k, p, d = _disp()
    t = 0
    seen = set()
    for _ in range(4):
        t += 1000
        d.at[0] = t
        d.tick()
        seen.add(_text(p))
    assert "id 0042 " in seen and "U1.2.3    " in seen, seen
    k.plug(1, cc_w=200)
    k.station.start(1, "time", 90, "x", "remote")
    k.rig.run(61)  # 61 s charged of 90 min
    for t2, port, data in k.rig.events:
        d.event(Event(t2, data, 0, None))
    d.tick(t)
    assert p.leds[0] == 0 and p.leds[1] == 1  # port 1 red (busy), port 2 green
    d.msg = None
    pages = set()
    for _ in range(6):
        t += 1000
        d.at[0] = t
        d.tick()
        pages.add(_text(p))
    assert "P01 1.29 " in pages or "P01 1.28 " in pages, pages  # about 1 h 29 min left
    d.event(Event("alarm.smoke", {"on": True, "id": 1}, 0, None))
    d.tick()
    assert _text(p) == "AL 5noHE", _text(p)
    d.event(Event("alarm.smoke", {"on": False, "id": 2}, 0, None))
    d.event(Event("port.status", {"port": 2, "status": "Faulted", "prev": "Available", "cause": "relay_welded"}, 0, None))
    d.tick()
    assert _text(p) == "P02 E-03", _text(p)  # the fault's prompt: port 2, error 3 (relay welded)
    d.msg = None
    pages = set()
    for _ in range(6):  # the fault stays on the idle pages with its code
        d.at[0] += 1000
        d.tick()
        pages.add(_text(p))
    assert "P02 E-03" in pages, pages
    d.at[0] += 500
    d.tick()
    red_on = p.leds[3]
    d.at[0] += 500
    d.tick()
    assert p.leds[3] != red_on  # a faulted port blinks red


def test_the_qr_payloads_name_the_pile_and_the_port():
    from firmware.front import qr_payload

    k = Kit()
    k.cfg["pile"]["id"] = "PILE-0042"
    assert qr_payload(k.cfg, 3) == "https://upile.example/c/PILE-0042/3"
    assert qr_payload(k.cfg) == "https://upile.example/c/PILE-0042/0"  # the pile's own code
    assert qr_payload(k.cfg, 10, "https://op.example/p?id=") == "https://op.example/p?id=PILE-0042/10"
