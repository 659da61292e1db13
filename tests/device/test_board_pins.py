# The default config with each pin map in firmware/board/pins.py is a buildable ESP32-WROOM
# board: no GPIO used twice, no UART used by two functions (console UART0, meters, modem,
# service port), no flash pins (6-11), outputs never on input-only GPIOs (34-39), and
# GPIO12 (MTDI: flash voltage strap) only where a pull-down holds it low at boot.
from firmware import config
from firmware.board import pins

_FLASH = (6, 7, 8, 9, 10, 11)
_INPUT_ONLY = (34, 35, 36, 37, 38, 39)
_WROOM = (0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 25, 26, 27, 32, 33, 34, 35, 36, 39)
_CONSOLE = (0, (1, 3))  # UART0 on TX 1 / RX 3: the REPL and boot log


def functions(cfg, pmap):
    """[(name, gpio, 'out'|'in')], [(name, uart)] of everything the firmware would open."""
    gp, ua = [], [("console", _CONSOLE[0])]
    gp += [("console.tx", _CONSOLE[1][0], "out"), ("console.rx", _CONSOLE[1][1], "in")]
    for i, p in enumerate(pmap.get("hc595") or ()):
        gp.append(("hc595[%d]" % i, p, "out"))
    n = cfg["pile"]["ports"]
    for i, p in enumerate((pmap.get("relay") or ())[:n]):
        gp.append(("relay[%d]" % i, p, "out"))
    for i, p in enumerate((pmap.get("relay_fb") or ())[:n]):
        gp.append(("relay_fb[%d]" % i, p, "in"))
    gp += [("meter_tx", pmap["meter_tx"], "out"), ("meter_rx", pmap["meter_rx"], "in")]
    ua.append(("meters", pmap["meter_uart"]))
    for i, p in enumerate(pmap.get("meter_mux") or ()):
        gp.append(("meter_mux[%d]" % i, p, "out"))
    for i, p in enumerate(pmap.get("temp_adc") or ()):
        gp.append(("temp_adc[%d]" % i, p, "in"))
    m = cfg["modem"]
    if m["enabled"] and "cellular" in cfg["net"]["order"]:
        gp += [("modem.tx", m["tx"], "out"), ("modem.rx", m["rx"], "in"), ("modem.pwrkey", m["pwrkey_pin"], "out")]
        ua.append(("modem", m["uart"]))
    s = cfg["service"]
    if s["enabled"] and s["tx"] >= 0 and s["rx"] >= 0:  # not wired (-1): never opened
        gp += [("service.tx", s["tx"], "out"), ("service.rx", s["rx"], "in")]
        ua.append(("service", s["uart"]))
    return gp, ua


def problems(cfg, pmap):
    gp, ua = functions(cfg, pmap)
    out = []
    seen = {}
    for name, p, d in gp:
        if p in seen:
            out.append("GPIO%d used by %s and %s" % (p, seen[p], name))
        seen[p] = name
        if p in _FLASH:
            out.append("%s on flash pin GPIO%d" % (name, p))
        elif p not in _WROOM:
            out.append("%s on GPIO%d, not on an ESP32-WROOM module" % (name, p))
        if d == "out" and p in _INPUT_ONLY:
            out.append("%s is an output on input-only GPIO%d" % (name, p))
        if p == 12 and name != "modem.pwrkey":  # the only function documented with a pull-down
            out.append("%s on GPIO12: a high level at boot selects 1.8 V flash" % name)
    used = {}
    for name, u in ua:
        if u in used:
            out.append("UART%d used by %s and %s" % (u, used[u], name))
        used[u] = name
    return out


def test_default_config_with_every_pin_map_has_no_conflict():
    cfg = config.defaults()
    for board in sorted(pins.PINS):
        cfg["charging"]["board"] = board
        cfg["pile"]["ports"] = 10 if board == "esp32-10p" else 2
        assert problems(cfg, pins.get(board)) == [], (board, problems(cfg, pins.get(board)))


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
    assert problems(cfg, pins.get("esp32-10p")) == []
    cfg["modem"]["enabled"] = True
    assert "UART1 used by modem and service" in problems(cfg, pins.get("esp32-10p"))


def test_the_checker_catches_the_old_collisions():
    cfg = config.defaults()
    cfg["modem"].update(uart=2, tx=17, rx=16, pwrkey_pin=4)  # the defaults before docs/hardware.md
    old = dict(pins.get("esp32-10p"), hc595=(13, 14, 15, 12),
               relay_fb=(4, 5, 18, 19, 21, 22, 23, 25, 26, 27))
    found = problems(cfg, old)
    for text in ("UART2 used by meters and modem", "GPIO4 used by relay_fb[0] and modem.pwrkey",
                 "GPIO17 used by meter_tx and modem.tx"):
        assert text in found, (text, found)
    assert any(t.startswith("hc595[3] on GPIO12") for t in found)
    cfg["modem"]["tx"] = 36
    assert "modem.tx is an output on input-only GPIO36" in problems(cfg, pins.get("esp32-2p"))
    cfg["modem"]["tx"] = 7
    assert "modem.tx on flash pin GPIO7" in problems(cfg, pins.get("esp32-2p"))
