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


WDT_ACROSS_RESETS = b"""
import machine, time
c = machine.reset_cause()
print('cause', c)
if c == 1:
    machine.WDT(timeout=1500)
    machine.soft_reset()  # the watchdog keeps running: nobody feeds it now
elif c == 3:
    machine.reset()  # a hard reset stops the watchdog
while True:
    time.sleep_ms(50)
"""


def test_watchdog_survives_a_soft_reset_only():
    with board(main=WDT_ACROSS_RESETS) as b:
        b.wait_console("cause 5")
        fire = b.wait_event("wdt_fire", timeout=10)
        assert fire[2][0] == 1.5
        b.wait_event("reset", lambda c: c == "WDT", timeout=10)
        hard = b.wait_event("reset", lambda c: c == "HARD", timeout=10)
        b.wait_console("cause 2")
        assert b.wdt.deadline is None  # disarmed by the hard reset
        assert [e[2] for e in b.events if e[1] == "reset"] == ["PWRON", "SOFT", "WDT", "HARD"]
        assert not [e for e in b.events if e[1] == "wdt_fire" and e[0] > hard[0]]


RECONFIGURED = b"""
import machine, time
try:
    machine.WDT(1, timeout=100)
except ValueError:
    print('only id 0')
machine.WDT(timeout=300)
machine.WDT(timeout=2000)  # one watchdog per chip: this reconfigures it (ESP32 port)
print('rearmed')
while True:
    time.sleep_ms(50)
"""


def test_a_new_wdt_reconfigures_the_one_watchdog():
    with board(main=RECONFIGURED) as b:
        b.wait_console("only id 0")
        b.wait_console("rearmed")
        fire = b.wait_event("wdt_fire", timeout=10)
        timeout, last_feed = fire[2]
        assert timeout == 2.0 and fire[0] - last_feed >= 2.0  # not the first 300 ms
        assert [e[2] for e in b.events if e[1] == "wdt"] == [300, 2000]


LAST_WORDS = b"""
import machine, os, time
c = machine.reset_cause()
print('cause', c, 'rtc', machine.RTC().memory())
if c == 1:
    machine.RTC().memory(b'last words')
    os.system('kill -SEGV $PPID')  # a crash at once: the chip process dies on SIGSEGV, a panic
while True:
    time.sleep_ms(50)
"""


def test_rtc_memory_written_right_before_a_panic_is_kept():
    with board(main=LAST_WORDS) as b:
        b.wait_console("cause 1 rtc b''")
        b.wait_event("panic", timeout=10)
        b.wait_console("cause 2 rtc b'last words'")
