# The table of bad configs and the exact message each must be refused with, shared by the
# device test (tests/device/test_config_table.py, inside micropython) and the host tests
# (tests/host/test_config_validate.py: the same table under CPython and through the real
# `upile provision`). Plain literals only: MicroPython and CPython both import it.
#
# schema_cases(): generated from SCHEMA, every key's type error and both range errors (the
# message format is the spec here); RULES: one or more hand-written cases per semantic rule.

_WORD = {int: "an integer", str: "a string", bool: "true or false", list: "a list", dict: "an object"}


def _secret(config, key):
    return config.is_secret(key)


def schema_cases(config):
    """(partial config, message) for every key of config.SCHEMA, one at a time (a list of
    all of them would not fit a small heap)."""
    for sec in sorted(config.SCHEMA):
        for key in sorted(config.SCHEMA[sec]):
            typ, _, lo, hi = config.SCHEMA[sec][key]
            name = sec + "." + key
            secret = _secret(config, key)
            if typ is int:
                wrong, got = "12", "a string" if secret else "'12'"
                yield ({sec: {key: True}}, "%s: expected an integer, got true" % name)
            elif typ is str:
                wrong, got = 12, "a number" if secret else "12"
            elif typ is bool:
                wrong, got = 1, "a number" if secret else "1"
            else:
                wrong, got = {"a": 1}, "an object"
            yield ({sec: {key: wrong}}, "%s: expected %s, got %s" % (name, _WORD[typ], got))
            if typ is int:
                if lo is not None:
                    yield ({sec: {key: lo - 1}}, "%s: %d is below %d" % (name, lo - 1, lo))
                if hi is not None:
                    yield ({sec: {key: hi + 1}}, "%s: %d is above %d" % (name, hi + 1, hi))
            elif typ in (str, list):
                what = "characters" if typ is str else "entries"
                filler = "x" if typ is str else [[1, 1]]
                if lo:
                    yield ({sec: {key: filler * (lo - 1)}}, "%s: %d %s, at least %d" % (name, lo - 1, what, lo))
                if hi is not None:
                    yield ({sec: {key: filler * (hi + 1)}}, "%s: %d %s, at most %d" % (name, hi + 1, what, hi))


WHOLE = [
    (["not", "an", "object"], "config: expected an object, got a list"),
    ({"piles": {}}, "unknown section 'piles'"),
    ({"pile": {"portz": 4}}, "unknown key pile.portz"),
    ({"pile": 4}, "pile: expected an object, got 4"),
    ({"ota": {"window": None}}, "ota.window: expected a string, got null"),
]

# (partial config, message): every semantic rule of every section, the cross-section ones too.
# No secret value may appear in a message (the modem.pin and Wi-Fi key cases check that).
RULES = [
    # net (firmware/net/rules.py)
    ({"net": {"order": "lte,wifi"}}, "net.order: 'lte,wifi' is not one of wifi,cellular, cellular,wifi, wifi, cellular"),
    ({"net": {"order": "cellular"}, "modem": {"enabled": False}},
     "net.order: 'cellular' only, but modem.enabled is false: the pile would have no link"),
    ({"net": {"probe": "udp"}}, "net.probe: 'udp' is not one of tcp, http"),
    ({"net": {"backoff_min_ms": 5000, "backoff_max_ms": 4000}}, "net.backoff_min_ms: 5000 is above net.backoff_max_ms 4000"),
    ({"net": {"ntp_host": "pool ntp.org"}}, "net.ntp_host: 'pool ntp.org': not a host name or IPv4 address"),
    ({"net": {"ntp_host": "300.1.1.1"}}, "net.ntp_host: '300.1.1.1': not an IPv4 address a.b.c.d"),
    # backend
    ({"backend": {"host": "https://csms.example.com"}},
     "backend.host: 'https://csms.example.com': not a host name or IPv4 address"),
    ({"backend": {"host": "-bad-.example.com"}}, "backend.host: '-bad-.example.com': not a host name or IPv4 address"),
    # wifi
    ({"wifi": {"networks": ["depot"]}}, "wifi.networks[0]: expected an object {\"ssid\": ..., \"key\": ...}"),
    ({"wifi": {"networks": [{"ssid": "depot", "pw": "secret-123"}]}}, "wifi.networks[0]: unknown key 'pw' (ssid, key)"),
    ({"wifi": {"networks": [{"key": "secret-123"}]}}, "wifi.networks[0].ssid: expected 1-32 bytes of text"),
    ({"wifi": {"networks": [{"ssid": ""}]}}, "wifi.networks[0].ssid: expected 1-32 bytes of text"),
    ({"wifi": {"networks": [{"ssid": "\u00e9" * 17}]}}, "wifi.networks[0].ssid: expected 1-32 bytes of text"),
    ({"wifi": {"networks": [{"ssid": "a", "key": "secret-123"}, {"ssid": "b", "key": "short"}]}},
     "wifi.networks[1].key: expected empty (open), 8-63 printable ASCII characters or 64 hex digits"),
    ({"wifi": {"networks": [{"ssid": "a", "key": "g" * 64}]}},
     "wifi.networks[0].key: expected empty (open), 8-63 printable ASCII characters or 64 hex digits"),
    ({"wifi": {"networks": [{"ssid": "a", "key": "secret\n123"}]}},
     "wifi.networks[0].key: expected empty (open), 8-63 printable ASCII characters or 64 hex digits"),
    ({"wifi": {"networks": [{"ssid": "a", "key": 12345678}]}}, "wifi.networks[0].key: expected a string"),
    ({"wifi": {"hostname": "pile_7"}}, "wifi.hostname: 'pile_7': not a host name label (letters, digits and inner hyphens)"),
    ({"wifi": {"static_ip": "192.168.1.300"}},
     "wifi.static_ip: '192.168.1.300': not an IPv4 address a.b.c.d (a.b.c.d or a.b.c.d/nn)"),
    ({"wifi": {"static_ip": "192.168.1.50/33"}},
     "wifi.static_ip: '192.168.1.50/33': prefix length is not 1-32 (a.b.c.d or a.b.c.d/nn)"),
    ({"wifi": {"gateway": "router"}}, "wifi.gateway: 'router': not an IPv4 address a.b.c.d"),
    ({"wifi": {"dns": "8.8.8"}}, "wifi.dns: '8.8.8': not an IPv4 address a.b.c.d"),
    # modem
    ({"modem": {"model": "sim800"}}, "modem.model: 'sim800' is not one of auto, a76xx, ec200, air780"),
    ({"modem": {"apn": "cm\"net"}}, "modem.apn: 'cm\"net' is not labels of letters, digits and hyphens separated by dots"),
    ({"modem": {"apn": "cmnet."}}, "modem.apn: 'cmnet.' is not labels of letters, digits and hyphens separated by dots"),
    ({"modem": {"pin": "12ab"}}, "modem.pin: expected 4-8 digits (or empty: no PIN)"),
    ({"modem": {"pin": "123"}}, "modem.pin: expected 4-8 digits (or empty: no PIN)"),
    ({"modem": {"ppp_key": "s3cret"}}, "modem.ppp_key: set without modem.ppp_user (PAP sends both; firmware/board/radio.py)"),
    # budget
    ({"budget": {"defer": "some"}}, "budget.defer: 'some' is not one of image, all"),
    # charging (firmware/charging/rules.py)
    ({"charging": {"board": "esp32-99p"}}, "charging.board: unknown board 'esp32-99p' (known: esp32-10p, esp32-10p-f, esp32-2p)"),
    ({"charging": {"admit_w": 9000}}, "charging.admit_w: 9000 is above charging.cap_w 8700"),
    ({"charging": {"volt_min_dv": 2700}}, "charging.volt_min_dv: 2700 is not below charging.volt_max_dv 2700"),
    ({"charging": {"overtemp_c": 40, "temp_hyst_c": 40}}, "charging.temp_hyst_c: 40 is not below charging.overtemp_c 40"),
    ({"charging": {"journal": "/config/charging.jnl"}}, "charging.journal: '/config/charging.jnl': not a file path under /data/"),
    ({"charging": {"journal": "/data/../slots/a/x"}}, "charging.journal: '/data/../slots/a/x': not a file path under /data/"),
    ({"charging": {"journal": "/data/"}}, "charging.journal: '/data/': not a file path under /data/"),
    # tariff (firmware/charging/tariff.py)
    ({"tariff": {"mode": "flat"}}, "tariff.mode: 'flat' is not one of time, tiers, energy"),
    ({"tariff": {"tiers": [[200, 240], [400]]}}, "tariff.tiers[1]: expected [watts, minutes per unit] (two integers)"),
    ({"tariff": {"tiers": [[200, 240.5]]}}, "tariff.tiers[0]: expected [watts, minutes per unit] (two integers)"),
    ({"tariff": {"tiers": [[0, 240]]}}, "tariff.tiers[0]: 0 W is not 1-100000"),
    ({"tariff": {"tiers": [[200, 0]]}}, "tariff.tiers[0]: 0 minutes per unit is not 1-100000"),
    ({"tariff": {"mode": "tiers", "tiers": [[400, 240], [200, 180]]}},
     "tariff.tiers[1]: 200 W is not above the previous tier's 400 W"),
    # meter (firmware/meter/__init__.py)
    ({"meter": {"chip": "hlw8012"}}, "meter.chip: 'hlw8012' is not one of bl0939, bl0942, hlw8032"),
    ({"meter": {"baud": 9600}}, "meter.baud: hlw8032 talks at 4800 bps, not 9600"),
    ({"meter": {"chip": "bl0942", "baud": 19200}}, "meter.baud: bl0942 talks at 4800 or 9600 bps, not 19200"),
    # supervisor (firmware/apprules.py)
    ({"supervisor": {"backoff_ms": 70000}}, "supervisor.backoff_ms: 70000 is above supervisor.backoff_max_ms 60000"),
    ({"supervisor": {"crash_window_s": 10, "backoff_ms": 5000}},
     "supervisor.backoff_ms: 5000 is too long to see 5 crashes within supervisor.crash_window_s 10"),
    # backend.protocol (firmware/apprules.py)
    ({"backend": {"protocol": "mqtt"}}, "backend.protocol: 'mqtt' is not one of none, ocpp, dny"),
    # dny (firmware/proto/dny/rules.py)
    ({"dny": {"iccid": "8986-041316189200927"}},
     "dny.iccid: expected 20 characters 0-9 or A-F (an ICCID as modules send it), or empty"),
    ({"dny": {"iccid": "898604d9162390488297"}},
     "dny.iccid: expected 20 characters 0-9 or A-F (an ICCID as modules send it), or empty"),
    ({"dny": {"backoff_min_ms": 5000, "backoff_max_ms": 4000}}, "dny.backoff_min_ms: 5000 is above dny.backoff_max_ms 4000"),
    ({"backend": {"protocol": "dny", "host": "10.0.0.9"}},
     "dny.number: 0: provision the number printed under the pile's QR code (1-16777215)"),
    ({"backend": {"protocol": "dny"}, "dny": {"number": 13544000}},
     "backend.host: empty, but backend.protocol is dny: the pile would have no server to talk to"),
    ({"backend": {"protocol": "dny", "host": "10.0.0.9"}, "dny": {"number": 13544000}, "charging": {"overpower_w": 2500}},
     "dny.port_limit_w: 2000 is below charging.overpower_w 2500 (0x85 could never set it)"),
    # ota (firmware/ota/policy.py)
    ({"ota": {"window": "bad"}}, "ota.window: 'bad': expected HH:MM-HH:MM"),
    ({"ota": {"window": "24:00-04:00"}}, "ota.window: '24:00-04:00': 24:00 is not a time of day"),
    ({"ota": {"window": "02:00-02:00"}}, "ota.window: '02:00-02:00': starts and ends at the same minute (an empty window)"),
    ({"ota": {"url": "ftp://rel.example.com/upile"}}, "ota.url: not an http:// or https:// URL"),
    ({"ota": {"url": "https://rel.example.com:99999/upile"}}, "ota.url: port is not 1-65535"),
    ({"ota": {"url": "https://rel example.com/upile"}}, "ota.url: has a space or control character"),
    ({"ota": {"url": "http://rel.example.com/upile"}},
     "ota.url: plain http:// needs ota.allow_http (releases are signed, but the transport is not private)"),
    ({"ota": {"url": "https://rel.example.com/upile", "ca": ""}},
     "ota.ca: an https:// ota.url needs a CA certificate file (lib/http.py refuses without one)"),
    ({"ota": {"keys": "keys.json"}}, "ota.keys: not a file path under /"),
    ({"ota": {"ca": "/config/../ca.der"}}, "ota.ca: not a file path under /"),
    ({"ota": {"backoff_s": 700}}, "ota.backoff_s: 700 is above ota.backoff_max_s 600"),
    ({"ota": {"check_s": 1800}}, "ota.jitter_s: 1800 is not below ota.check_s 1800"),
    ({"ota": {"health_s": 600}}, "ota.health_timeout_s: 600 is not above ota.health_s 600"),
    # ocpp (firmware/proto/ocpp/rules.py); a URL is never shown, nor the key
    ({"backend": {"protocol": "ocpp"}}, "ocpp.url: needed when backend.protocol is ocpp (the CSMS endpoint)"),
    ({"ocpp": {"url": "http://csms.example.com/ocpp"}}, "ocpp.url: not a ws:// or wss:// URL"),
    ({"ocpp": {"url": "ws://csms example.com/ocpp"}},
     "ocpp.url: has a space, control or non-ASCII character (percent-encode the path)"),
    ({"ocpp": {"url": "ws://user:pw@csms.example.com/ocpp"}},
     "ocpp.url: has credentials in it (use ocpp.profile and ocpp.auth_key)"),
    ({"ocpp": {"url": "ws://csms.example.com:0/ocpp"}}, "ocpp.url: port is not 1-65535"),
    ({"ocpp": {"url_tls": "ws://csms.example.com/ocpp"}}, "ocpp.url_tls: not a wss:// URL"),
    ({"ocpp": {"id": "CP 1"}}, "ocpp.id: has a character that is not printable ASCII or is a space"),
    ({"ocpp": {"auth_key": "0011"}}, "ocpp.auth_key: expected 32-40 hex digits (16-20 bytes)"),
    ({"ocpp": {"auth_key": "zz" * 16}}, "ocpp.auth_key: expected 32-40 hex digits (16-20 bytes)"),
    ({"ocpp": {"ca": "ca.der"}}, "ocpp.ca: not a file path under /config/"),
    ({"ocpp": {"url": "ws://csms.example.com/ocpp", "profile": 1}},
     "ocpp.profile: security profile 1 needs ocpp.auth_key (Basic authentication)"),
    ({"ocpp": {"url": "ws://csms.example.com/ocpp", "profile": 2, "auth_key": "00" * 16}},
     "ocpp.profile: 2 needs TLS: a wss:// ocpp.url or ocpp.url_tls"),
    ({"ocpp": {"url": "wss://csms.example.com/ocpp", "profile": 2, "auth_key": "00" * 16, "ca": ""}},
     "ocpp.profile: security profile 2 needs ocpp.ca (the CSMS root certificate)"),
    ({"ocpp": {"url": "wss://csms.example.com/ocpp", "profile": 3, "cert": ""}},
     "ocpp.profile: security profile 3 needs ocpp.cert and ocpp.cert_key (the charge point's certificate)"),
    ({"ocpp": {"backoff_min_s": 400}}, "ocpp.backoff_min_s: 400 is above ocpp.backoff_max_s 300"),
    ({"ocpp": {"sampled_data": "Energy.Active.Import.Register,SoC"}},
     "ocpp.sampled_data: 'SoC' is not a measurand this pile meters (Energy.Active.Import.Register, "
     "Power.Active.Import, Voltage, Current.Import, Power.Factor, Temperature)"),
    ({"ocpp": {"stop_sampled": "Voltage"}},
     "ocpp.stop_sampled: 'Voltage' is not a measurand this pile meters (Energy.Active.Import.Register)"),
    ({"ocpp": {"vendor": "uPile\u00e9"}}, "ocpp.vendor: has a character that is not printable ASCII"),
    ({"ocpp": {"ping_s": 200}}, "ocpp.ping_s: 200 is not below ocpp.tx_attempts x ocpp.tx_retry_s (180)"),
    # pile, service, board (firmware/board/rules.py)
    ({"pile": {"id": "PILE 7"}}, "pile.id: has a character that is not printable ASCII or is a space"),
    ({"service": {"tx": 18}}, "service.rx: -1 (not wired) while service.tx is 18: wire both or neither"),
    ({"pile": {"ports": 3}, "charging": {"board": "esp32-2p"}}, "pile.ports: 3 ports, board esp32-2p has 2 relays"),
    ({"pile": {"ports": 3}, "charging": {"board": "esp32-2p"}, "meter": {"chip": "bl0939"}},
     "pile.ports: 3 ports, board esp32-2p has 2 relays"),
    ({"modem": {"tx": 36}}, "modem.tx: GPIO36 is input-only (34-39)"),
    ({"modem": {"rx": 8}}, "modem.rx: GPIO8 is a flash pin (6-11)"),
    ({"modem": {"pwrkey_pin": 35, "enabled": False}}, "modem.pwrkey_pin: GPIO35 is input-only (34-39)"),
    ({"modem": {"uart": 2}}, "modem.uart: UART2 is already used by the meters (pin map esp32-10p)"),
    ({"modem": {"tx": 17}}, "modem.tx: GPIO17 is already used by meter_tx of pin map esp32-10p"),
    ({"service": {"tx": 18, "rx": 39}}, "service.tx: GPIO18 is already used by modem.tx"),
    ({"service": {"tx": 18, "rx": 39, "uart": 2}, "modem": {"enabled": False}},
     "service.uart: UART2 is already used by the meters (pin map esp32-10p)"),
    ({"service": {"tx": 1, "rx": 3}, "modem": {"enabled": False}}, "service.tx: GPIO1 is already used by console TX"),
    ({"service": {"tx": 4, "rx": 39}, "modem": {"enabled": False}},
     "service.tx: GPIO4 is already used by relay_fb[0] of pin map esp32-10p"),
    ({"service": {"tx": 20, "rx": 39}, "modem": {"enabled": False}},
     "service.tx: GPIO20 is not a GPIO of an ESP32-WROOM module"),
    ({"service": {"tx": 12, "rx": 39}, "modem": {"enabled": False, "pwrkey_pin": 0}, "charging": {"board": "esp32-2p"},
      "pile": {"ports": 2}},
     "service.tx: GPIO12 must stay low at reset (flash voltage strap): only modem.pwrkey_pin may use it"),
    # the front's pins (firmware/board/rules.py) and the 10-port front revision's mux on the relay chain
    ({"front": {"enabled": True}}, "front.enabled: board esp32-10p has no front (no front_i2c in its pin map)"),
    ({"charging": {"board": "esp32-10p-f"}, "pile": {"ports": 13}},
     "pile.ports: 13 ports, board esp32-10p-f has 12 relays"),
    ({"front": {"enabled": True}, "charging": {"board": "esp32-2p"}, "pile": {"ports": 2},
      "service": {"tx": 21, "rx": 39}, "modem": {"enabled": False}},
     "service.tx: GPIO21 is already used by front_i2c[1] of pin map esp32-2p"),
    ({"front": {"enabled": True}, "charging": {"board": "esp32-2p"}, "pile": {"ports": 2},
      "modem": {"enabled": False, "pwrkey_pin": 32}},
     "modem.pwrkey_pin: GPIO32 is already used by coin of pin map esp32-2p"),
    # the front section (firmware/front/rules.py)
    ({"front": {"lang": "fr"}}, "front.lang: 'fr': expected zh or en"),
    ({"front": {"quiet": "22:00-22:00"}}, "front.quiet: '22:00-22:00': expected HH:MM-HH:MM, two different times of day"),
    ({"front": {"quiet": "24:00-07:00"}}, "front.quiet: '24:00-07:00': expected HH:MM-HH:MM, two different times of day"),
    ({"front": {"quiet": "late"}}, "front.quiet: 'late': expected HH:MM-HH:MM, two different times of day"),
    ({"front": {"card_check": "cloud"}}, "front.card_check: 'cloud': expected local or backend"),
    ({"front": {"code_secret": "abc"}}, "front.code_secret: expected an even number (16-64) of hex digits"),
    ({"front": {"code_secret": "zz" * 8}}, "front.code_secret: expected an even number (16-64) of hex digits"),
    ({"front": {"alarms": 8}}, "front.alarms: the smoke self-test (8) needs the smoke detector (1)"),
    ({"front": {"loadcheck": "kill"}}, "front.loadcheck: 'kill': expected stop, report or off"),
]

# configs that must pass (every board, the sim scenes' shapes, edge values of the rules)
GOOD = [
    {},
    {"backend": {"protocol": "dny", "host": "dny.example.com", "port": 8999},
     "dny": {"number": 13544000, "iccid": "898604D9162390488297", "heartbeat_s": 1, "gap_ms": 0}},
    {"pile": {"ports": 16}, "backend": {"protocol": "dny", "host": "10.0.0.9"}, "dny": {"number": 16777215, "port_limit_w": 3500},
     "charging": {"overpower_w": 3500}},
    {"pile": {"ports": 2}, "charging": {"board": "esp32-2p"}},
    {"pile": {"ports": 16}, "meter": {"chip": "bl0939"}},
    {"pile": {"ports": 2}, "charging": {"board": "esp32-2p"}, "service": {"uart": 1, "tx": 4, "rx": 5},
     "modem": {"enabled": False}, "net": {"order": "wifi"}},
    {"ota": {"url": "http://127.0.0.1:8000/rel", "allow_http": True, "window": "22:00-04:00"}},
    {"ota": {"url": "https://rel.example.com/upile/", "check_s": 5, "jitter_s": 4}},
    {"wifi": {"networks": [{"ssid": "depot", "key": "secret-123"}, {"ssid": "\u00e9" * 16}, {"ssid": "hex", "key": "0a" * 32}],
              "static_ip": "192.168.1.50/24", "gateway": "192.168.1.1", "dns": "8.8.8.8", "hostname": "pile-7"}},
    {"modem": {"apn": "cmiot.gd", "pin": "1234", "ppp_user": "card", "ppp_key": "card"}},
    {"charging": {"admit_w": 8700, "volt_min_dv": 2699, "overtemp_c": 45, "temp_hyst_c": 44, "journal": "/data/j/c.jnl"}},
    {"tariff": {"mode": "tiers", "tiers": [[1, 1], [100000, 100000]]}},
    {"meter": {"chip": "bl0942", "baud": 9600}},
    {"backend": {"host": "csms.example.com"}, "net": {"ntp_host": "10.0.0.1", "order": "cellular,wifi"}},
    # the service header on the modem's pins: fine while the modem's UART is not opened
    {"service": {"tx": 18, "rx": 39}, "net": {"order": "wifi"}, "meter": {"chip": "bl0942"}},
    {"backend": {"protocol": "ocpp"}, "ocpp": {"url": "ws://127.0.0.1:9000/ocpp", "profile": 1, "auth_key": "4f43415f4f4354545f61646d696e5f74657374",
              "id": "CP-0042", "sampled_data": "Energy.Active.Import.Register,Power.Active.Import,Temperature"}},
    {"backend": {"protocol": "ocpp"}, "ocpp": {"url": "ws://csms.example.com/ocpp", "url_tls": "wss://csms.example.com:8443/ocpp", "profile": 3,
              "ping_s": 60, "stop_sampled": "Energy.Active.Import.Register"}},
    # the front on both boards that have one, every part configured
    {"charging": {"board": "esp32-10p-f"}, "front": {"enabled": True}},
    {"charging": {"board": "esp32-10p-f"}, "pile": {"ports": 12}, "front": {"enabled": True, "lang": "en", "quiet": ""}},
    {"pile": {"ports": 2}, "charging": {"board": "esp32-2p"},
     "service": {"uart": 1, "tx": 4, "rx": 5}, "modem": {"enabled": False}, "net": {"order": "wifi"},
     "front": {"enabled": True, "card_check": "backend", "code_secret": "00112233445566778899aabbccddeeff",
               "alarms": 17, "loadcheck": "report", "quiet": "23:30-06:00"}},
]


def secrets(config, obj, under=""):
    """Every string under a secret-looking key (at any depth): none may show in a message."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if config.is_secret(k) and isinstance(v, str) and v:
                out.append(v)
            out += secrets(config, v, k)
    elif isinstance(obj, list):
        for v in obj:
            out += secrets(config, v, under)
    return out
