"""Pins and ADC on the sim board: chip outputs seen by the harness (and peers), harness
inputs read by the chip, all in one time-ordered event log."""
from simkit import board
from upile.sim.peers.loopback import LoopbackPeer


def test_output_level_set_by_chip_is_seen_by_harness_and_peers():
    peer = LoopbackPeer()
    with board() as b:
        b.attach_uart(2, peer)
        b.exec("import machine\nrelay = machine.Pin(25, machine.Pin.OUT, value=0)\nrelay.on()")
        b.wait_event("pin", lambda d: d == (25, 1))
        assert b.pin(25) == 1
        b.exec("relay.off()")
        b.wait_event("pin", lambda d: d == (25, 0))
        assert b.pin(25) == 0
        assert (25, 1) in peer.pins and peer.pins[-1] == (25, 0)


def test_input_level_set_by_harness_is_read_by_chip():
    with board() as b:
        b.exec("import machine\nplug = machine.Pin(34, machine.Pin.IN)\nbtn = machine.Pin(0, machine.Pin.IN, machine.Pin.PULL_UP)")
        assert b.exec("print(plug.value(), btn.value())").strip() == "0 1"
        b.set_pin(34, 1)
        b.set_pin(0, 0)
        assert b.exec("print(plug.value(), btn.value())").strip() == "1 0"


def test_inputs_persist_across_a_reset_like_board_wiring():
    with board() as b:
        b.set_pin(35, 1)
        b.set_adc(36, 1234)
        mark = b.console_mark()
        b.reset()
        b.wait_console("main.py running", since=mark)
        out = b.exec("import machine\nprint(machine.Pin(35, machine.Pin.IN).value(), machine.ADC(machine.Pin(36)).read())")
        assert out.strip() == "1 1234"


def test_adc_reading_set_by_harness():
    with board() as b:
        b.set_adc(39, 2048)
        out = b.exec("import machine\na = machine.ADC(machine.Pin(39), atten=machine.ADC.ATTN_11DB)\n"
                     "print(a.read(), a.read_u16(), a.read_uv())")
        raw, u16, uv = map(int, out.split())
        assert raw == 2048 and 32000 < u16 < 33000 and 1500000 < uv < 1600000


def test_irq_runs_on_edge():
    with board() as b:
        b.exec("import machine, time\nhits = []\np = machine.Pin(4, machine.Pin.IN)\n"
               "p.irq(lambda pin: hits.append(pin.value()), machine.Pin.IRQ_RISING)")
        b.set_pin(4, 1)
        b.set_pin(4, 0)
        b.set_pin(4, 1)
        b.set_pin(5, 1)  # a marker behind the edges: the harness's lines reach the chip in order
        # two rising edges; IRQs run when the chip next touches the sim (here machine.idle)
        out = b.exec("m = machine.Pin(5, machine.Pin.IN)\n"
                     "t = time.ticks_ms()\n"
                     "while not m.value() and time.ticks_diff(time.ticks_ms(), t) < 10000:\n"
                     "    machine.idle()\n"
                     "print(m.value(), hits)")
        assert out.strip() == "1 [1, 1]"


def test_event_log_orders_chip_and_harness_changes():
    with board() as b:
        b.exec("import machine\nled = machine.Pin(2, machine.Pin.OUT)\nled.on()")
        b.wait_event("pin", lambda d: d == (2, 1))
        b.set_pin(5, 1)
        assert b.exec("print(machine.Pin(5, machine.Pin.IN).value())").strip() == "1"
        b.exec("led.off()")
        b.wait_event("pin", lambda d: d == (2, 0), since=b.events[-1][0])
        b.set_pin(5, 0)
        seq = [(k, d) for _, k, d in b.events if k in ("pin", "pin_in") and d[0] in (2, 5)]
        assert seq == [("pin", (2, 0)), ("pin", (2, 1)), ("pin_in", (5, 1)), ("pin", (2, 0)), ("pin_in", (5, 0))]
        times = [t for t, k, d in b.events]
        assert times == sorted(times)


def test_outputs_float_while_the_chip_is_off():
    with board() as b:
        b.exec("import machine\nmachine.Pin(26, machine.Pin.OUT, value=1)")
        b.wait_event("pin", lambda d: d == (26, 1))
        b.power_cut()
        assert b.pin(26) is None


def test_an_adc_set_while_the_chip_boots_is_not_lost():
    # a peer sets an input as the chip starts (the meter peer's NTC when the chip opens its
    # UART): after the chip's environment was made, before its control wire connected
    with board(power=False) as b:
        b.power_on()
        b.set_adc(36, 2047)
        b.set_pin(35, 1)
        b.wait_console("main.py running")
        out = b.exec("import machine\nprint(machine.Pin(35, machine.Pin.IN).value(), machine.ADC(machine.Pin(36)).read())")
        assert out.strip() == "1 2047"
