# The default config with each pin map in firmware/board/pins.py is a buildable ESP32-WROOM
# board, judged by the config validator's own board rules (firmware/board/rules.py): no GPIO
# used twice, no UART used by two functions (console UART0, meters, modem, service port), no
# flash pins (6-11), outputs never on input-only GPIOs (34-39), and GPIO12 (MTDI: flash
# voltage strap) only where a pull-down holds it low at boot.
from firmware import config
from firmware.board import pins, rules


def test_default_config_with_every_pin_map_has_no_conflict():
    cfg = config.defaults()
    for board in sorted(pins.PINS):
        cfg["charging"]["board"] = board
        cfg["pile"]["ports"] = 10 if board == "esp32-10p" else 2
        assert rules.problems(cfg, pins.get(board), board) == [], (board, rules.problems(cfg, pins.get(board), board))
        config.validate({"charging": {"board": board}, "pile": {"ports": cfg["pile"]["ports"]}})


def test_ten_ports_get_relays_and_readback_for_every_port():
    p = pins.get("esp32-10p")
    assert len(p["relay_fb"]) == 10 and len(p["hc595"]) == 4  # with /OE: relays held off at boot
    assert len(p["meter_mux"]) == 4  # 16 channels for 10 meters


def test_service_port_needs_a_free_uart():
    cfg = config.defaults()
    # default: not wired (no UART left beside console, meters and modem)
    assert cfg["service"]["tx"] == -1 and cfg["service"]["rx"] == -1
    # wired on UART1: fine on a pile without modem, a conflict with one
    cfg["service"].update(tx=18, rx=39)
    cfg["modem"]["enabled"] = False
    assert rules.problems(cfg, pins.get("esp32-10p"), "esp32-10p") == []
    cfg["modem"]["enabled"] = True
    found = rules.problems(cfg, pins.get("esp32-10p"), "esp32-10p")
    assert "service.uart: UART1 is already used by the modem (modem.uart)" in found, found
    assert "service.tx: GPIO18 is already used by modem.tx" in found, found


def test_the_checker_catches_the_old_collisions():
    cfg = config.defaults()
    cfg["modem"].update(uart=2, tx=17, rx=16, pwrkey_pin=4)  # the defaults before docs/hardware.md
    old = dict(pins.get("esp32-10p"), hc595=(13, 14, 15, 12),
               relay_fb=(4, 5, 18, 19, 21, 22, 23, 25, 26, 27))
    found = rules.problems(cfg, old, "old")
    for text in ("modem.uart: UART2 is already used by the meters (pin map old)",
                 "modem.pwrkey_pin: GPIO4 is already used by relay_fb[0] of pin map old",
                 "modem.tx: GPIO17 is already used by meter_tx of pin map old"):
        assert text in found, (text, found)
    assert "charging.board: hc595[3] of pin map old: GPIO12 must stay low at reset (flash voltage strap): " \
           "only modem.pwrkey_pin may use it" in found, found
    cfg["modem"]["tx"] = 36
    assert "modem.tx: GPIO36 is input-only (34-39)" in rules.problems(cfg, pins.get("esp32-2p"), "esp32-2p")
    cfg["modem"]["tx"] = 7
    assert "modem.tx: GPIO7 is a flash pin (6-11)" in rules.problems(cfg, pins.get("esp32-2p"), "esp32-2p")


def test_ports_must_fit_the_relays_and_the_meter_mux():
    two = pins.get("esp32-2p")
    cfg = config.defaults()
    cfg["charging"]["board"] = "esp32-2p"
    cfg["pile"]["ports"] = 3
    assert rules.problems(cfg, two, "esp32-2p")[0] == "pile.ports: 3 ports, board esp32-2p has 2 relays"
    # ten ports on the shift registers: 16 outputs; BL0939 meters two ports each, so 16 ports
    # need 8 meters, which the 4-line mux selects; 16 HLW8032s need all 16 channels
    ten = pins.get("esp32-10p")
    cfg["charging"]["board"] = "esp32-10p"
    cfg["pile"]["ports"] = 16
    assert rules.problems(cfg, ten, "esp32-10p") == []
    cfg["meter"]["chip"] = "bl0939"
    assert rules.problems(cfg, ten, "esp32-10p") == []
    no_mux = dict(ten, meter_mux=())
    assert rules.problems(cfg, no_mux, "x")[0] == "pile.ports: 16 ports need 8 bl0939 meters, the meter mux of board x selects 1"
