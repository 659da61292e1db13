"""The sim chip's `network`: WLAN and PPP whose link state the harness plays
(tools/upile/sim/wifi.py: access points, drops, a modem in data mode).

While neither link is up, the chip's `socket` module (chip/socket.py) refuses connections,
so firmware sees what an ESP32 without a link sees.
"""
import _simlink

STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_BEACON_TIMEOUT = 200
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202
STAT_ASSOC_FAIL = 203
STAT_HANDSHAKE_TIMEOUT = 204
AUTH_OPEN = 0
AUTH_WEP = 1
AUTH_WPA_PSK = 2
AUTH_WPA2_PSK = 3
AUTH_WPA_WPA2_PSK = 4
_hostname = "upile"


def hostname(name=None):
    global _hostname
    if name is None:
        return _hostname
    _hostname = name


def country(code=None):
    return "01" if code is None else None


class WLAN:
    IF_STA = 0
    IF_AP = 1
    STAT_IDLE = STAT_IDLE
    STAT_CONNECTING = STAT_CONNECTING
    STAT_GOT_IP = STAT_GOT_IP
    STAT_BEACON_TIMEOUT = STAT_BEACON_TIMEOUT
    STAT_NO_AP_FOUND = STAT_NO_AP_FOUND
    STAT_WRONG_PASSWORD = STAT_WRONG_PASSWORD
    STAT_ASSOC_FAIL = STAT_ASSOC_FAIL
    STAT_HANDSHAKE_TIMEOUT = STAT_HANDSHAKE_TIMEOUT
    PM_NONE = 0
    PM_PERFORMANCE = 1
    PM_POWERSAVE = 2
    _active = [False, False]

    def __init__(self, interface_id=0):
        if interface_id not in (0, 1):
            raise ValueError("invalid WLAN interface identifier")
        self._if = interface_id

    def active(self, is_active=None):
        if is_active is None:
            return WLAN._active[self._if]
        WLAN._active[self._if] = bool(is_active)
        if self._if == 0:
            _simlink.send("wlan active %d" % (1 if is_active else 0))
        return None

    def _sta(self):
        if self._if != 0:
            raise OSError(1)  # EPERM: station calls on the AP interface
        if not WLAN._active[0]:
            raise OSError("STA must be active")  # as the ESP32 port words it
        _simlink.drain()
        return _simlink.net["wlan"]

    def connect(self, ssid=None, key=None, *, bssid=None):
        self._sta()
        if ssid is None or " " in ssid or (key and " " in key):
            # the wire format is space separated; the sim does not take spaces
            raise ValueError("sim WLAN: ssid/key without spaces please")
        _simlink.send("wlan connect %s %s" % (ssid, key or "-"))
        _simlink.net["wlan"]["status"] = STAT_CONNECTING

    def disconnect(self):
        if WLAN._active[0]:
            _simlink.send("wlan disconnect")
            _simlink.net["wlan"]["status"] = STAT_IDLE

    def isconnected(self):
        if self._if != 0 or not WLAN._active[0]:
            return False
        _simlink.drain()
        return _simlink.net["wlan"]["status"] == STAT_GOT_IP

    def status(self, param=None):
        if param is None:
            if not WLAN._active[self._if]:
                return STAT_IDLE
            return self._sta()["status"]
        if param == "rssi":
            w = self._sta()
            if w["status"] != STAT_GOT_IP:
                raise OSError("STA is not connected")
            return w["rssi"]
        if param == "stations":
            return []
        raise ValueError("unknown status param")

    def scan(self):
        self._sta()
        _simlink.wait(100)  # a real scan takes ~2 s; the sim keeps it short
        out = []
        for ap in _simlink.net.get("aps", ()):
            out.append((ap["ssid"].encode(), bytes(6), ap.get("channel", 6), ap["rssi"],
                        AUTH_WPA2_PSK if ap.get("key") else AUTH_OPEN, False))
        return out

    def ipconfig(self, *args, **kw):
        w = self._sta() if self._if == 0 else {"ip": "192.168.4.1"}
        if args == ("addr4",):
            return (w["ip"], "255.255.255.0")
        if args == ("gw4",):
            return w.get("gw", "0.0.0.0")
        return None

    def ifconfig(self, cfg=None):
        w = self._sta()
        return (w["ip"], "255.255.255.0", w.get("gw", "0.0.0.0"), w.get("dns", "0.0.0.0"))

    def config(self, *args, **kw):
        if args == ("hostname",) or args == ("dhcp_hostname",):
            return _hostname
        if args == ("mac",):
            return b"\x24\x0a\xc4\x00\x00\x01"
        if args == ("essid",) or args == ("ssid",):
            return _simlink.net["wlan"].get("ssid", "")
        if args == ("reconnects",):
            return -1
        if args == ("txpower",):
            return 20
        if args:
            raise ValueError("unknown config param")
        if "hostname" in kw:
            hostname(kw["hostname"])
        return None


class PPP:
    """PPP over a (sim) UART. Up only while the modem peer on that UART is in data mode;
    the sim carries no PPP frames on the UART (the harness's link model decides)."""

    SEC_NONE = 0
    SEC_PAP = 1
    SEC_CHAP = 2

    def __init__(self, stream):
        self._uart_id = getattr(stream, "_id", -1)
        self._active = False
        self._asked = False

    def active(self, a=None):
        if a is None:
            return self._active
        self._active = bool(a)
        if not a:
            self.disconnect()

    def connect(self, security=0, user=None, key=None):
        if not self._active:
            raise OSError("PPP not active")
        self._asked = True
        _simlink.send("ppp connect %d" % self._uart_id)

    def disconnect(self):
        if self._asked:
            self._asked = False
            _simlink.send("ppp disconnect")
            _simlink.net["ppp"]["up"] = False

    def isconnected(self):
        _simlink.drain()
        return self._asked and bool(_simlink.net["ppp"]["up"])

    def status(self):
        return 1 if self.isconnected() else 0

    def ipconfig(self, *args, **kw):
        _simlink.drain()
        if args == ("addr4",):
            return (_simlink.net["ppp"]["ip"], "255.255.255.255")
        return None

    def ifconfig(self, cfg=None):
        _simlink.drain()
        return (_simlink.net["ppp"]["ip"], "255.255.255.255", "0.0.0.0", "0.0.0.0")

    def poll(self):
        return 0
