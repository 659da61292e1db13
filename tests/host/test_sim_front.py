"""The front end to end on the running sim pile (tests/host/frontsim.py): a person types on
the emulated keypad, taps cards on the emulated PN532, drops coins into the acceptor's
line; the relay pins, the SYN6288's utterances, the HT16K33's digits and the service
port's events and bills say what happened. Every start method, and the bad input of each:
unknown and foreign cards, a card left on the reader, a replayed code, coin-line glitches,
garbage on both bridge UARTs, alarms, a heater on a port.

The sim chip compiles the whole app from source at every boot, so it runs with a 1 MB
heap here; a production image freezes the app (docs/production.md) and bench/front.py
measures the front's own heap."""
import time

from frontsim import COIN_PIN, derived_code, kv, pile

UID = bytes.fromhex("A1B2C3D4")
OTHER = bytes.fromhex("0BADCAFE")
CARDS = {"/data/front/cards.txt": b"A1B2C3D4 time 60\n0BADCAFE full 0\n"}


def _bill(f, port, timeout=20):
    m = f.svc.wait_event(r"^bill %d (.*)" % port, timeout=timeout)
    return kv(m.group(1))


def test_card_code_coins_and_a_back_end_start(tmp_path):
    with pile(files=CARDS, heap="1M") as f:
        f.meter.command("plug 1 200 480 0.3")
        f.meter.command("plug 2 180 480 0.3")
        f.wait(lambda: "id 0042" in f.panel.digits(), what="the pile number for the app")

        # bad input: an unknown card on a chosen port starts nothing
        f.keys("1#")
        f.said("1号端口，请刷卡、输入充电码或投币")
        f.reader.tap(bytes.fromhex("11223344"))
        f.said("1号端口无法充电，未登记的卡")
        assert f.relay(1) == 0

        # a registered card: the relay closes, the voice confirms; left on the reader it
        # is still one tap
        f.keys("1#")
        f.reader.tap(UID, hold_s=2.5)
        f.wait(lambda: f.relay(1) == 1, what="port 1's relay")
        f.said("1号端口开始充电")
        f.said("可充电60分钟")
        m = f.svc.wait_event(r"^started 1 (.*)")
        assert kv(m.group(1))["method"] == "card" and kv(m.group(1))["tag"] == "A1B2C3D4"
        time.sleep(3)
        assert len([u for u in f.voice.spoken if "开始充电" in u.text]) == 1
        # another card cannot stop it; the same card can
        f.keys("1#")
        f.reader.tap(OTHER)
        f.said("不是本卡的充电")
        assert f.relay(1) == 1
        f.keys("1#")
        f.reader.tap(UID)
        f.wait(lambda: f.relay(1) == 0, what="port 1 off")
        b = _bill(f, 1)
        assert (b["reason"], b["cause"], b["method"]) == ("Local", "card", "card")
        f.said("1号端口停止充电，刷卡停止")

        # a one-time code for port 2 (the back end computed it with the shared secret)
        code = derived_code("PILE-0042", 2, time.time())
        f.keys("2#")
        f.keys(code + "#")
        f.wait(lambda: f.relay(2) == 1, what="port 2's relay (code)")
        b = kv(f.svc.ok("stop 2"))
        assert b["method"] == "code" and b["tag"] == "code-" + code and b["kind"] == "full"
        f.keys("2#")
        f.keys(code + "#")  # replayed
        f.said("充电码已使用")
        time.sleep(1)
        assert f.relay(2) == 0

        # coins: two coins (3 + 2 pulses) with glitches on the line, then port 2 and #
        f.coin(3)
        f.b.glitch(COIN_PIN, 0, 2)  # microsecond spikes: the PCNT filter drops them
        f.b.glitch(COIN_PIN, 0, 5)
        f.coin(2)
        f.said("已投币5.00元")
        f.keys("2#")
        f.keys("#")
        f.wait(lambda: f.relay(2) == 1, what="port 2's relay (coins)")
        f.said("预付5.00元")
        b = kv(f.svc.ok("stop 2"))
        assert b["method"] == "coin" and b["kind"] == "money" and b["amount"] == "500", b

        # a back end's start (here the service port's; OCPP and DNY call the same station)
        f.svc.ok("start 1 money 300 app-1")
        f.wait(lambda: f.relay(1) == 1, what="port 1's relay (back end)")
        f.said("预付3.00元")
        f.wait(lambda: "P01" in f.panel.digits(), what="port 1 on the display")
        assert f.panel.led(1) == "red" and f.panel.led(2) == "green"
        assert not [u for u in f.voice.spoken if u.cut], "a prompt was cut by the next"
        assert f.voice.rejected == 0 and "Traceback" not in f.b.console_text()


def test_garbage_on_the_reader_and_voice_lines(tmp_path):
    with pile(files=CARDS, heap="1M") as f:
        f.meter.command("plug 1 200 480 0.3")
        f.wait(lambda: "card reader PN532" in f.b.console_text(), what="the reader's start")
        for _ in range(5):  # a noisy reader line: garbage in bursts between the answers
            f.bridge.inject_garbage(0, 40)
            time.sleep(0.1)
        f.bridge.inject_garbage(1, 30)  # and the voice module babbling
        f.bridge.corrupt_tx(1, 3)  # the next frame to the voice module arrives damaged
        f.keys("1#")
        f.reader.tap(UID, hold_s=1.0)
        f.bridge.inject_garbage(0, 25)
        f.wait(lambda: f.relay(1) == 1, what="port 1's relay through the noise")
        f.said("1号端口开始充电")
        assert f.voice.rejected >= 1  # the damaged frame: answered 45, the prompts went on

        # the bridge stops answering for a while (a loose cable): no crash loop, no reboot;
        # the back end hears that the alarm inputs are blind, then that they are back
        resets = len([e for e in f.b.events if e[1] == "reset"])
        f.bridge.nack = True
        f.svc.wait_event(r"^alarm sensors .*on=1", timeout=10)
        time.sleep(3)
        f.bridge.nack = False
        f.svc.wait_event(r"^alarm sensors .*on=0", timeout=10)
        f.svc.ok("stop 1")
        f.wait(lambda: f.relay(1) == 0, what="port 1 off")
        f.keys("1#")
        f.reader.tap(UID, hold_s=5.0)  # the reader is brought up again first (a person taps again)
        f.wait(lambda: f.relay(1) == 1, what="a card start after the bridge came back", timeout=30)
        assert len([e for e in f.b.events if e[1] == "reset"]) == resets
        assert "Traceback" not in f.b.console_text()


def test_smoke_stops_every_port_refuses_starts_and_clears(tmp_path):
    with pile(files=CARDS, heap="1M") as f:
        f.svc.wait_event(r"^alarm selftest .*ok=1", timeout=30)  # the detector answered its test
        f.meter.command("plug 1 200 480 0.3")
        f.meter.command("plug 2 200 480 0.3")
        f.svc.ok("start 1 full 0 a")
        f.svc.ok("start 2 full 0 b")
        f.wait(lambda: f.relay(1) == 1 and f.relay(2) == 1, what="both relays")
        f.bridge.set_gpio(2, 1)  # the door: an event, charging goes on
        f.svc.wait_event(r"^alarm door .*on=1")
        f.said("柜门已打开")
        assert f.relay(1) == 1
        f.bridge.smoke_on = True
        f.svc.wait_event(r"^alarm smoke .*on=1")
        f.wait(lambda: f.relay(1) == 0 and f.relay(2) == 0, what="every relay open")
        for port in (1, 2):
            b = _bill(f, port)
            assert (b["reason"], b["cause"]) == ("EmergencyStop", "smoke")
        f.said("烟雾报警，停止所有充电")
        assert f.svc.command("start 1 full 0 c") == ["err unavailable start"]
        f.keys("1#")
        f.reader.tap(UID)
        f.said("1号端口无法充电，报警中")
        assert f.relay(1) == 0
        f.bridge.smoke_on = False
        f.svc.wait_event(r"^alarm smoke .*on=0", timeout=25)  # clears after 10 s of clean air
        f.said("报警解除")
        f.wait(lambda: f.svc.ok("status").endswith("1=Available 2=Available"), what="ports open again")


def test_the_smoke_detector_fails_its_self_test(tmp_path):
    with pile(files=CARDS, heap="1M", detector_works=False) as f:
        f.said("烟感自检失败", timeout=30)
        assert "smoke detector failed its self-test" in f.b.console_text()


def test_a_heater_is_stopped_and_the_charger_beside_it_is_not(tmp_path):
    with pile(files=CARDS, heap="1M") as f:
        f.meter.command("grid 7")  # the mains moves as in a building
        f.meter.command("charger 1 220 600 0.3 0.97")  # a charger with PFC: PF like a heater's
        f.meter.command("heater 2 800")
        f.svc.ok("start 1 full 0 bike")
        f.svc.ok("start 2 full 0 heater")
        b = _bill(f, 2, timeout=120)
        assert (b["reason"], b["cause"]) == ("Other", "not_a_charger")
        f.said("2号端口停止充电，非电动车充电器")
        assert f.relay(1) == 1 and f.svc.ok("info 1").split()[1] == "status=Charging"
