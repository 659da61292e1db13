# heapsize: 512K
# The voice (firmware/front/voice.py): SYN6288 frames byte for byte, the prompt task fed by
# the bus against a scripted module (41 accepted, 4F when a prompt ends, 45 for a bad
# frame, garbage on its line), one prompt at a time, quiet hours, urgent alarms.
import asyncio

from frontkit import Kit, Wire
from firmware.bus import Bus
from firmware.front import prompts
from firmware.front.voice import Voice, build_frame, quiet_now


def test_frames_are_the_modules_format():
    buf = bytearray(208)
    # expected bytes from the sim's emulator (tools/upile/sim/peers/syn6288.py speak_frame),
    # written from the module's frame description: FD, length, 01, 03 (UNICODE), text, XOR
    n = build_frame("你好", 10, buf)
    assert bytes(buf[:n]).hex() == "fd00110103005b007600310030005d4f60597d94"
    n = build_frame("Port 1", 3, buf)
    assert bytes(buf[:n]).hex() == "fd00170103005b00760033005d0050006f007200740020003183"
    n = build_frame("长" * 150, 16, buf)  # cut to what the module takes (200 text bytes)
    assert n <= 206 and (buf[1] << 8 | buf[2]) == n - 3 and n - 6 <= 200
    n = build_frame("a\U0001F600b", 1, buf)  # no voice outside the BMP: dropped, not garbled
    assert n == 5 + 8 + 4 + 1 and bytes(buf[13:17]) == b"\x00a\x00b"


def test_quiet_hours_local_time():
    win = (22 * 60, 7 * 60)
    t = 1700000000 - 1700000000 % 86400  # 00:00 UTC
    assert quiet_now(win, t + 15 * 3600, 480)  # 23:00 in China
    assert not quiet_now(win, t + 2 * 3600, 480)  # 10:00 in China
    assert quiet_now(win, t + 22 * 3600 + 1800, 480)  # 06:30 in China
    assert not quiet_now(win, None, 480)  # unknown time: never quiet
    assert not quiet_now(None, t, 0)


class Module:
    """A SYN6288 on the other end of the wire: answers frames, speaks for `ticks` pumps."""

    def __init__(self, wire):
        self.w = wire
        self.buf = bytearray()
        self.texts = []
        self.speaking_when_sent = 0
        self.busy = 0
        wire.on_write = self.rx

    def rx(self, data):
        self.buf += data
        while len(self.buf) >= 3:
            n = 3 + (self.buf[1] << 8 | self.buf[2])
            if len(self.buf) < n:
                return
            f = bytes(self.buf[:n])
            self.buf[:n] = b""
            x = 0
            for b in f[:-1]:
                x ^= b
            if x != f[-1]:
                self.w.answer(b"\x45")
                continue
            if f[3] == 0x01:
                if self.busy:
                    self.speaking_when_sent += 1
                self.texts.append(f[5:-1])
                self.w.answer(b"\x41")
                self.busy = 3
            elif f[3] == 0x21:
                self.w.answer(b"\x4e" if self.busy else b"\x4f")
            elif f[3] == 0x02:
                self.w.answer(b"\x41")
                self.busy = 0

    def tick(self):
        if self.busy:
            self.busy -= 1
            if not self.busy:
                self.w.answer(b"\x4f")


def _text(raw):
    return "".join(chr(raw[i] << 8 | raw[i + 1]) for i in range(0, len(raw), 2))


async def _run(v, m, until, ms=3000):
    task = asyncio.create_task(v.run())
    for _ in range(ms // 10):
        await asyncio.sleep_ms(10)
        m.tick()
        if until():
            break
    task.cancel()


async def test_prompts_from_the_bus_one_at_a_time():
    k = Kit()
    k.cfg["front"]["quiet"] = ""
    w = Wire()
    m = Module(w)
    v = Voice(k.cfg, w, k.bus)
    k.plug(1, cc_w=200)
    k.station.start(1, "time", 30, "A1B2C3D4", "card")
    k.bus.publish("front.say", {"key": "coin_in", "fen": 300})
    w.answer(b"\x4a\x00\xff")  # the module's power-on byte, then line noise
    await _run(v, m, lambda: len(m.texts) >= 3)
    said = [_text(t) for t in m.texts]
    assert said == ["[v10]1号端口开始充电", "[v10]可充电30分钟", "[v10]已投币3.00元"], said
    assert m.speaking_when_sent == 0  # never cut a prompt that was playing
    assert v.spoken == 3 and v.booted == 1 and v.garbage == 2


async def test_a_rejected_frame_is_counted_and_the_next_prompt_still_goes():
    bus = Bus()
    from firmware import config

    cfg = config.defaults()
    w = Wire()
    m = Module(w)
    v = Voice(cfg, w, bus)
    real = m.rx
    hits = [0]

    def flaky(data):  # the first frame is damaged on the wire (a bit flips)
        hits[0] += 1
        if hits[0] == 1:
            data = bytes([data[0]]) + bytes([data[1]]) + bytes([data[2]]) + bytes([data[3] ^ 0x10]) + data[4:]
        real(data)

    w.on_write = flaky
    bus.publish("front.say", {"key": "bad_input"})
    bus.publish("front.say", {"key": "card_ok"})
    await _run(v, m, lambda: v.spoken >= 1)
    assert v.rejected == 1 and v.spoken == 1
    assert _text(m.texts[0]) == "[v10]刷卡成功"


async def test_quiet_hours_lower_the_volume_or_silence_it():
    k = Kit()
    k.cfg["front"].update({"quiet": "22:00-07:00", "quiet_volume": 2})
    night = 1700000000 - 1700000000 % 86400 + 15 * 3600  # 23:00 China time
    k.rig.wall = night
    w = Wire()
    m = Module(w)
    v = Voice(k.cfg, w, k.bus)
    k.bus.publish("front.say", {"key": "card_ok"})
    await _run(v, m, lambda: v.spoken >= 1)
    assert _text(m.texts[0]) == "[v2]刷卡成功"
    k.cfg["front"]["quiet_volume"] = 0
    v2 = Voice(k.cfg, w, k.bus)
    k.bus.publish("front.say", {"key": "card_ok"})
    await _run(v2, m, lambda: v2.silent >= 1, 500)
    assert v2.silent == 1 and len(m.texts) == 1  # nothing sent at night at volume 0


async def test_an_alarm_cuts_the_prompt_playing():
    k = Kit()
    k.cfg["front"]["quiet"] = ""
    w = Wire()
    m = Module(w)
    v = Voice(k.cfg, w, k.bus)
    m.busy = 1000  # a long prompt is playing
    v.speaking = True
    k.bus.publish("alarm.smoke", {"on": True, "id": 1})
    await _run(v, m, lambda: v.spoken >= 1)
    assert _text(m.texts[-1]) == "[v10]" + prompts.text("alarm_smoke", "zh")


def test_every_prompt_and_reason_has_both_languages_and_a_display_text():
    for line in prompts.TABLE.split("\n"):
        if not line:
            continue
        f = line.split("|")
        assert len(f) == 4 and f[1] and f[2], line
        if not f[0].startswith("r."):
            assert f[3], line
        for ch in f[2]:
            assert ord(ch) < 128, line  # English stays ASCII
    assert prompts.text("stopped", "en", 3, why="not_a_charger") == "Port 3 stopped: not an e-bike charger"
    assert prompts.text("stopped", "zh", 10, why="no_such_cause") == "10号端口停止充电，其他原因"
