"""Pin maps by board name: {board: {key: value}}. Each owner adds its own keys.

Charging keys: relay (GPIO per port) or hc595 (data, clock, latch[, oe]) for shift-register
relays; relay_fb (readback input per port, optional); meter_uart (UART id), meter_tx,
meter_rx; meter_mux (select GPIOs of an analog mux putting one meter's TX on meter_rx at a
time; empty when each port has its own UART); temp_adc (ADC pins of the NTCs);
led (status LED GPIO, optional); meter_mux_q (instead of meter_mux: the mux selects on
spare 74HC595 outputs Q12-Q15, so the select lines cost no GPIO).

Front keys (owner: the front, docs/hardware.md "The front"): front_i2c (SCL, SDA of the
front's I2C bus: UART bridge, display, keypad, alarm inputs), coin (the coin acceptor's
pulse input, counted by a PCNT unit). A board without them has no front (front.enabled is
refused on it).
"""
PINS = {
    # 10-port pile (and the sim board, which plays this PCB): relays on two 74HC595
    # (data, clock, latch, /OE), contact readback on 10 inputs, the meters' TX lines
    # multiplexed onto UART2 RX by a CD74HC4067 (4 select lines), one cabinet NTC.
    # Every free GPIO of an ESP32-WROOM is used once with the modem's (UART1 18/39,
    # PWRKEY 12; firmware/config.py): full map and strapping notes in docs/hardware.md.
    # /OE is on GPIO5 (its pull-up holds the relays off through boot; GPIO5 straps high
    # anyway), never on GPIO12, whose pull-up would select 1.8 V flash.
    "esp32-10p": {
        "hc595": (13, 14, 15, 5),
        "relay_fb": (4, 19, 21, 22, 23, 25, 26, 27, 34, 35),
        "meter_uart": 2,
        "meter_tx": 17,
        "meter_rx": 16,
        "meter_mux": (32, 33, 2, 0),
        "temp_adc": (36,),
    },
    # 2-port board: GPIO relays; both meters share UART2 through a 1-bit mux; the front on
    # the ESP32's usual I2C pins
    "esp32-2p": {
        "relay": (25, 26),
        "relay_fb": (34, 35),
        "meter_uart": 2,
        "meter_tx": 17,
        "meter_rx": 16,
        "meter_mux": (27,),
        "temp_adc": (36,),
        "front_i2c": (22, 21),
        "coin": 32,
    },
}
# 10-port pile, front revision: the meter mux selects move to the relay chain's spare
# outputs Q12-Q15 (at most 12 ports), which frees GPIO0/2/32/33: the front's I2C bus on
# 0 (SCL: only the controller drives it, so its pull-up keeps the boot strap high) and
# 32 (SDA: a device holding SDA low across a reset must not sit on a strap), the coin
# acceptor on 33; GPIO2 stays free (a strap that must not be pulled up). The rest (and its
# tuples) is esp32-10p's.
PINS["esp32-10p-f"] = {k: v for k, v in PINS["esp32-10p"].items() if k != "meter_mux"}
PINS["esp32-10p-f"].update(meter_mux_q=(12, 13, 14, 15), front_i2c=(0, 32), coin=33)


def get(board):
    """The pin map of `board` (config charging.board: firmware/charging/rules.py refuses names
    that are not here, so a KeyError means a caller skipped config.validate)."""
    return PINS[board]
