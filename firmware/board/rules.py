"""Config rules of the hardware (sections `pile` and `service`, and the whole board): the
ports fit the pin map's relays and meter mux, and every GPIO and UART the config hands out
exists on an ESP32-WROOM, suits its direction and is used once (docs/hardware.md).

Plain data and arithmetic: runs under CPython too (`upile provision`), never opens a pin.
Each check returns None or "section.key: what is wrong" (firmware/config.py RULES).
"""
from firmware import cfgtext
from firmware.board import pins

FLASH = (6, 7, 8, 9, 10, 11)  # the module's SPI flash
INPUT_ONLY = (34, 35, 36, 37, 38, 39)
WROOM = (0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 25, 26, 27, 32, 33, 34, 35, 36, 39)
STRAP_12 = 12  # MTDI: high at reset selects 1.8 V flash; only a pulled-down input-to-NPN may sit there
SHIFT_OUTPUTS = 16  # two chained 74HC595 (firmware/board/ports.py)


def check_pile(cfg):
    p = cfg["pile"]
    for key in ("id", "product"):
        err = cfgtext.printable(p[key])
        if err:
            return "pile.%s: %s" % (key, err)
    return None


def check_service(cfg):
    s = cfg["service"]
    if (s["tx"] < 0) != (s["rx"] < 0):
        off, on = ("tx", "rx") if s["tx"] < 0 else ("rx", "tx")
        return "service.%s: -1 (not wired) while service.%s is %d: wire both or neither" % (off, on, s[on])
    return None


def modem_used(cfg):
    """The modem's UART is opened only when it is enabled and cellular is in net.order."""
    return cfg["modem"]["enabled"] and "cellular" in cfg["net"]["order"]


def _name(what, src):
    """A pin's user as a message names it: `what` is a name, or (pin map key, index or -1),
    formatted only when a message needs it (validate() runs at boot, in the heap the whole
    config is in: twenty strings made for nothing added to its peak)."""
    if type(what) is tuple:
        return ("%s[%d] of %s" % (what[0], what[1], src)) if what[1] >= 0 else "%s of %s" % (what[0], src)
    return what


def uses(cfg, pmap, name):
    """[(key, what, gpio, 'out'|'in')], [(key, what, uart)]: everything the firmware would
    claim with this config and pin map, in the order a conflict is blamed on the later one
    (_name(what, "pin map " + name) is its text)."""
    src = "pin map " + name
    gp = [("", "console TX", 1, "out"), ("", "console RX", 3, "in")]
    ua = [("", "the console", 0)]
    n = cfg["pile"]["ports"]
    front = cfg["front"]["enabled"]
    for what, count, d in (("hc595", None, "out"), ("relay", n, "out"), ("relay_fb", n, "in"),
                           ("meter_mux", None, "out"), ("temp_adc", None, "in"),
                           ("front_i2c" if front else "-", None, "out")):  # SCL, SDA (driven both ways)
        for i, p in enumerate((pmap.get(what) or ())[:count]):
            gp.append(("charging.board", (what, i), p, d))
    if front and pmap.get("coin") is not None:
        gp.append(("charging.board", ("coin", -1), pmap["coin"], "in"))
    gp.append(("charging.board", ("meter_tx", -1), pmap["meter_tx"], "out"))
    gp.append(("charging.board", ("meter_rx", -1), pmap["meter_rx"], "in"))
    ua.append(("charging.board", "the meters (%s)" % src, pmap["meter_uart"]))
    m = cfg["modem"]
    # firmware/board/radio.py drives PWRKEY (released) whenever the net domain starts
    gp.append(("modem.pwrkey_pin", "modem.pwrkey_pin", m["pwrkey_pin"], "out"))
    if modem_used(cfg):
        gp += [("modem.tx", "modem.tx", m["tx"], "out"), ("modem.rx", "modem.rx", m["rx"], "in")]
        ua.append(("modem.uart", "the modem (modem.uart)", m["uart"]))
    s = cfg["service"]
    if s["enabled"] and s["tx"] >= 0 and s["rx"] >= 0:  # not wired (-1): never opened
        gp += [("service.tx", "service.tx", s["tx"], "out"), ("service.rx", "service.rx", s["rx"], "in")]
        ua.append(("service.uart", "the service port (service.uart)", s["uart"]))
    return gp, ua


def _gpio_problem(what, p, d):
    if p in FLASH:
        return "GPIO%d is a flash pin (6-11)" % p
    if p not in WROOM:
        return "GPIO%d is not a GPIO of an ESP32-WROOM module" % p
    if d == "out" and p in INPUT_ONLY:
        return "GPIO%d is input-only (34-39)" % p
    if p == STRAP_12 and what != "modem.pwrkey_pin":
        return "GPIO12 must stay low at reset (flash voltage strap): only modem.pwrkey_pin may use it"
    return None


def problems(cfg, pmap, name):
    """Every hardware problem of this config on this pin map, as "key: text" lines."""
    out = []
    n = cfg["pile"]["ports"]
    relays = SHIFT_OUTPUTS if pmap.get("hc595") else len(pmap.get("relay") or ())
    muxq = pmap.get("meter_mux_q") or ()
    if muxq:
        relays = min(relays, min(muxq))  # the mux selects take the chain's last outputs
    if n > relays:
        out.append("pile.ports: %d ports, board %s has %d relays" % (n, name, relays))
    chip = cfg["meter"]["chip"]
    per = 2 if chip == "bl0939" else 1  # a BL0939 meters two ports
    meters = (n + per - 1) // per
    mux = 1 << len(pmap.get("meter_mux") or muxq)  # no mux: one meter on the UART
    if meters > mux:
        out.append("pile.ports: %d ports need %d %s meters, the meter mux of board %s selects %d"
                   % (n, meters, chip, name, mux))
    gp, ua = uses(cfg, pmap, name)
    src = "pin map " + name
    seen = {}
    for key, what, p, d in gp:
        err = _gpio_problem(what, p, d)
        if err is None and p in seen:
            err = "GPIO%d is already used by %s" % (p, _name(seen[p], src))
        if err:
            out.append("%s: %s" % (key or "charging.board", err if key != "charging.board" else _name(what, src) + ": " + err))
        seen.setdefault(p, what)
    seen = {}
    for key, what, u in ua:
        if u in seen:
            out.append("%s: UART%d is already used by %s" % (key, u, seen[u]))
        seen.setdefault(u, what)
    return out


def check_board(cfg):
    name = cfg["charging"]["board"]
    pmap = pins.PINS.get(name)
    if pmap is None:  # firmware/charging/rules.py names the unknown board
        return "charging.board: unknown board %r" % name
    if cfg["front"]["enabled"] and not pmap.get("front_i2c"):
        return "front.enabled: board %s has no front (no front_i2c in its pin map)" % name
    found = problems(cfg, pmap, name)
    return found[0] if found else None
