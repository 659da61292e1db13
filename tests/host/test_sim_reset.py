"""Power and reset on the sim board: machine.reset_cause() tells the truth, the watchdog
restarts a chip that stops feeding it, RTC memory and the watchdog behave as an ESP32's."""
import time

from simkit import board

CAUSE = "import machine; print(machine.reset_cause())"


def test_power_cut_then_power_on_gives_pwron():
    with board() as b:
        b.power_cut()
        assert b.chip is None
        b.power_on()
        b.wait_console("main.py running")
        assert b.exec(CAUSE).strip() == "1"
        assert b.reset_cause == 1


def test_machine_reset_gives_hard_and_runs_boot_again():
    with board() as b:
        mark = b.console_mark()
        b.console.loop.call(b.console.to_chip, b"\x03")
        b.wait_console(">>> $", since=mark)
        mark = b.console_mark()
        b.console.loop.call(b.console.to_chip, b"import machine; machine.reset()\r")
        b.wait_console("boot.py run 2", since=mark)
        b.wait_console("main.py running", since=mark)
        assert b.exec(CAUSE).strip() == "2"
        assert [e[2] for e in b.events if e[1] == "reset"] == ["PWRON", "HARD"]


def test_harness_reset_gives_hard():
    with board() as b:
        mark = b.console_mark()
        b.reset()
        b.wait_console("main.py running", since=mark)
        assert b.exec(CAUSE).strip() == "2"


def test_machine_soft_reset_gives_soft():
    with board() as b:
        mark = b.console_mark()
        b.console.loop.call(b.console.to_chip, b"\x03")
        b.wait_console(">>> $", since=mark)
        b.console.loop.call(b.console.to_chip, b"import machine; machine.soft_reset()\r")
        b.wait_console("MPY: soft reboot", since=mark)
        b.wait_console("main.py running", since=mark)
        assert b.exec(CAUSE).strip() == "5"


HUNG_MAIN = b"""
import machine, time
wdt = machine.WDT(timeout=500)
print('armed, cause', machine.reset_cause())
for i in range(5):
    wdt.feed()
    time.sleep_ms(100)
print('hanging now')
while True:
    time.sleep_ms(50)
"""


def test_watchdog_restarts_a_chip_that_stops_feeding_it():
    with board(main=HUNG_MAIN) as b:
        b.wait_console("armed, cause 1")
        b.wait_console("hanging now")
        fire = b.wait_event("wdt_fire", timeout=5)
        b.wait_event("reset", lambda d: d == "WDT", timeout=5)
        b.wait_console("armed, cause 3")
        timeout, last_feed = fire[2]
        assert timeout == 0.5
        # restarted after the timeout, and within 100 ms of it
        assert 0.5 <= fire[0] - last_feed <= 0.6


def test_fed_watchdog_never_fires():
    fed = b"""
import machine, time
wdt = machine.WDT(timeout=300)
print('feeding')
while True:
    wdt.feed()
    time.sleep_ms(50)
"""
    with board(main=fed) as b:
        b.wait_console("feeding")
        time.sleep(1.0)
        assert not [e for e in b.events if e[1] == "wdt_fire"]


def test_rtc_memory_survives_reset_not_power_cut():
    with board() as b:
        b.exec("import machine; machine.RTC().memory(b'kept')")
        mark = b.console_mark()
        b.reset()
        b.wait_console("main.py running", since=mark)
        assert b.exec("import machine; print(machine.RTC().memory())").strip() == "b'kept'"
        b.power_cut()
        b.power_on()
        b.wait_console("main.py running")
        assert b.exec("import machine; print(machine.RTC().memory())").strip() == "b''"


def test_deepsleep_wakes_with_deepsleep_cause():
    with board() as b:
        mark = b.console_mark()
        b.console.loop.call(b.console.to_chip, b"\x03")
        b.wait_console(">>> $", since=mark)
        b.console.loop.call(b.console.to_chip, b"import machine; machine.deepsleep(200)\r")
        b.wait_event("deepsleep")
        b.wait_event("reset", lambda d: d == "DEEPSLEEP")
        b.wait_console("main.py running", since=mark)
        assert b.exec(CAUSE).strip() == "4"
