"""The sim board's radio links, played by the harness: Wi-Fi access points (ssid, key,
rssi, in range or not) and the cellular data link (PPP is up only while the modem peer on
the PPP UART says it is in data mode: `peer.data_mode`).

The chip learns the state through `net JSON` lines (chip/network.py reads them); its
`socket` module refuses connections while `up` is false. Extend here: more link faults
(latency, loss) belong in this model, not in the chip.
"""
import json

STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_BEACON_TIMEOUT = 200
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202


class NetModel:
    def __init__(self, board, connect_delay=0.3, ppp_delay=0.2):
        self.board = board
        self.connect_delay = connect_delay
        self.ppp_delay = ppp_delay
        self.aps = {}            # ssid -> {"ssid", "key", "rssi", "channel", "up"}
        self._reset_chip_side()

    def _reset_chip_side(self):
        # a (re)started chip has its radio off and no PPP session
        self.active = False
        self.want = None         # (ssid, key) the chip asked for
        self.wlan = {"status": STAT_IDLE, "rssi": 0, "ip": "0.0.0.0", "ssid": "", "gw": "0.0.0.0"}
        self._pending = None     # (due time, ssid)
        self.ppp_uart = None
        self.ppp = {"up": False, "ip": "0.0.0.0"}
        self._ppp_due = None

    # --- harness API (thread-safe through the board's loop) --------------------------------
    def add_ap(self, ssid, key=None, rssi=-60, channel=6):
        self.board.loop.call(self._set_ap, ssid, {"ssid": ssid, "key": key, "rssi": rssi, "channel": channel,
                                                   "up": True})

    def drop(self, ssid):
        """The access point goes out of range (the chip keeps retrying, as the ESP32 does)."""
        self.board.loop.call(self._set_up, ssid, False)

    def restore(self, ssid):
        self.board.loop.call(self._set_up, ssid, True)

    def set_rssi(self, ssid, rssi):
        self.board.loop.call(self._set_rssi, ssid, rssi)

    def links_up(self):
        return self.wlan["status"] == STAT_GOT_IP or self.ppp["up"]

    # --- loop side ------------------------------------------------------------------------
    def _set_ap(self, ssid, ap):
        self.aps[ssid] = ap
        self.board.event("wifi_ap", (ssid, "added"))
        self.push()

    def _set_rssi(self, ssid, rssi):
        self.aps[ssid]["rssi"] = rssi
        if self.wlan["ssid"] == ssid:
            self.wlan["rssi"] = rssi
        self.push()

    def _set_up(self, ssid, up):
        self.aps[ssid]["up"] = up
        self.board.event("wifi_ap", (ssid, "restored" if up else "dropped"))
        if not up and self.wlan["ssid"] == ssid and self.wlan["status"] == STAT_GOT_IP:
            self._link("wlan", False)
            self.wlan.update(status=STAT_CONNECTING, ip="0.0.0.0")
            self._pending = (self.board.now() + self.connect_delay, ssid)
        self.push()

    def on_chip_start(self):
        had = self.links_up()
        self._reset_chip_side()
        if had:
            self.board.event("link", ("all", "down"))

    def on_chip(self, args):
        kind = args[0]
        now = self.board.now()
        if kind == "wlan" and args[1] == "active":
            self.active = args[2] == "1"
            if not self.active:
                self._disconnect()
        elif kind == "wlan" and args[1] == "connect":
            key = None if args[3] == "-" else args[3]
            self.want = (args[2], key)
            self.wlan.update(status=STAT_CONNECTING, ssid=args[2], ip="0.0.0.0")
            self._pending = (now + self.connect_delay, args[2])
        elif kind == "wlan" and args[1] == "disconnect":
            self._disconnect()
        elif kind == "ppp" and args[1] == "connect":
            self.ppp_uart = int(args[2])
            self._ppp_due = now + self.ppp_delay
        elif kind == "ppp" and args[1] == "disconnect":
            self.ppp_uart = None
            self._ppp_due = None
            if self.ppp["up"]:
                self.ppp.update(up=False, ip="0.0.0.0")
                self._link("ppp", False)
        self.push()

    def _disconnect(self):
        self.want = None
        self._pending = None
        if self.wlan["status"] == STAT_GOT_IP:
            self._link("wlan", False)
        self.wlan.update(status=STAT_IDLE, ip="0.0.0.0", ssid="")

    def _link(self, which, up):
        self.board.event("link", (which, "up" if up else "down"))

    def _modem_in_data_mode(self):
        link = self.board.uarts.get(self.ppp_uart)
        return bool(link is not None and getattr(link.peer, "data_mode", False))

    def tick(self, now):
        changed = False
        if self._pending and now >= self._pending[0] and self.want:
            ssid, key = self.want
            ap = self.aps.get(ssid)
            self._pending = None
            if ap is None or not ap["up"]:
                # the ESP32 keeps retrying a requested connection: report and retry
                self.wlan["status"] = STAT_NO_AP_FOUND if ap is None else STAT_CONNECTING
                self._pending = (now + max(self.connect_delay, 0.5), ssid)
            elif (ap["key"] or None) != key:
                self.wlan["status"] = STAT_WRONG_PASSWORD
                self.want = None
            else:
                self.wlan.update(status=STAT_GOT_IP, rssi=ap["rssi"], ip="192.168.4.%d" % (100 + len(ssid) % 100),
                                 gw="192.168.4.1")
                self._link("wlan", True)
            changed = True
        if self.ppp_uart is not None:
            data = self._modem_in_data_mode()
            if data and not self.ppp["up"] and self._ppp_due is not None and now >= self._ppp_due:
                self.ppp.update(up=True, ip="10.64.0.2")
                self._link("ppp", True)
                changed = True
            elif not data and self.ppp["up"]:
                self.ppp.update(up=False, ip="0.0.0.0")
                self._link("ppp", False)
                self._ppp_due = now + self.ppp_delay
                changed = True
        if changed:
            self.push()

    def state(self):
        return {"wlan": self.wlan, "ppp": self.ppp, "up": self.links_up(),
                "aps": [ap for ap in self.aps.values() if ap["up"]]}

    def push(self):
        self.board.send_chip("net " + json.dumps(self.state(), separators=(",", ":")))
