"""Radio board layer: Wi-Fi station, the modem's UART and PWRKEY pin, and PPP over that UART.

Only machine/network here (runs on the ESP32 and unchanged on the sim chip). The net domain
(firmware/net/) sees these adapters: Wlan (status as names), modem_stream() (an asyncio
stream over the UART), pwrkey(on), ppp() (start/stop/isconnected).
"""
import asyncio

import machine
import network

# port status constant name -> our reason name (ESP32 adds the last three)
_STATUS = (
    ("STAT_IDLE", "idle"), ("STAT_CONNECTING", "connecting"), ("STAT_GOT_IP", "got_ip"),
    ("STAT_WRONG_PASSWORD", "wrong_password"), ("STAT_NO_AP_FOUND", "no_ap_found"),
    ("STAT_CONNECT_FAIL", "connect_fail"), ("STAT_BEACON_TIMEOUT", "beacon_timeout"),
    ("STAT_ASSOC_FAIL", "assoc_fail"), ("STAT_HANDSHAKE_TIMEOUT", "handshake_timeout"),
)


class Wlan:
    def __init__(self):
        self._w = network.WLAN(network.WLAN.IF_STA if hasattr(network.WLAN, "IF_STA") else network.STA_IF)
        self._names = {}
        for const_name, name in _STATUS:
            v = getattr(network, const_name, None)
            if v is not None:
                self._names[v] = name

    def active(self, on):
        self._w.active(on)

    def configure(self, hostname, static_ip, gateway, dns):
        try:
            network.hostname(hostname)
        except (AttributeError, OSError, ValueError):
            pass  # older ports: hostname stays the default
        if static_ip:
            addr, _, bits = static_ip.partition("/")
            bits = int(bits or 24)
            mask = ".".join(str((0xFFFFFFFF << (32 - bits) >> s) & 255) for s in (24, 16, 8, 0))
            self._w.ifconfig((addr, mask, gateway or "0.0.0.0", dns or gateway or "8.8.8.8"))

    def connect(self, ssid, key):
        try:
            self._w.disconnect()
        except OSError:
            pass
        self._w.connect(ssid, key)

    def disconnect(self):
        try:
            self._w.disconnect()
        except OSError:
            pass

    def isconnected(self):
        return self._w.isconnected()

    def status(self):
        return self._names.get(self._w.status(), "unknown")

    def rssi(self):
        try:
            return self._w.status("rssi")
        except (OSError, ValueError, TypeError):
            return None


class Ppp:
    """network.PPP over the modem UART, made only after CONNECT (PPP sends no AT commands)."""

    def __init__(self, uart):
        self._uart = uart
        self._p = None

    def start(self, user, key):
        if self._p is None:
            self._p = network.PPP(self._uart)
        self._p.active(True)
        if user:
            sec = getattr(self._p, "SEC_PAP", None)
            self._p.connect(security=sec, user=user, key=key) if sec is not None else self._p.connect(user=user, key=key)
        else:
            self._p.connect()

    def stop(self):
        if self._p is None:
            return
        try:
            self._p.disconnect()
        except OSError:
            pass
        try:
            self._p.active(False)
        except OSError:
            pass

    def isconnected(self):
        return self._p is not None and self._p.isconnected()


class Radio:
    def __init__(self, modem_cfg):
        c = modem_cfg
        self.cfg = c
        self._wlan = None
        self._uart = None
        self._stream = None
        self._ppp = None
        self._key = machine.Pin(c["pwrkey_pin"], machine.Pin.OUT, value=1 - c["pwrkey_active"])

    def wlan(self):
        if self._wlan is None:
            self._wlan = Wlan()
        return self._wlan

    def uart(self):
        if self._uart is None:
            c = self.cfg
            self._uart = machine.UART(c["uart"], baudrate=c["baud"], tx=c["tx"], rx=c["rx"],
                                      rxbuf=c["rxbuf"], timeout=0, timeout_char=0)
        return self._uart

    def modem_stream(self):
        if self._stream is None:
            self._stream = asyncio.StreamReader(self.uart())
        return self._stream

    def pwrkey(self, on):
        a = self.cfg["pwrkey_active"]
        self._key.value(a if on else 1 - a)

    def ppp(self):
        if self._ppp is None:
            self._ppp = Ppp(self.uart())
        return self._ppp
