"""A factory pile for OCPP signed firmware updates (docs/ocpp.md "Part 2: signed firmware
updates"): slot a runs release 1.0.0, the bench manufacturer root is installed at
/data/ocpp/certs/M0.der, and releases 1.0.0 and 2.0.0, signed by our Ed25519 dev key and for
OCPP by `upile release --ocpp-signing` (fwsign.sign_release), sit on a loopback release server.
tests/host/test_ocpp_firmware.py and the `make sim` scene demo_ocpp_ops.py share it.
"""
from upile import fwsign
from upile.sim import demo_charging, otakit
from upile.sim.board import SimBoard
from upile.sim.peers.meter import MeterPeer
from upile.sim.peers.service import ServicePeer

# no periodic checks: updates come only when the CSMS asks
OTA = {"first_check_s": 86400, "check_s": 604800, "jitter_s": 0, "health_s": 30, "idle_poll_s": 1,
       "health_timeout_s": 120}


class FwPile:
    """A factory pile (slot a = 1.0.0) talking OCPP to `csms`, and its release server
    (`handler`: the server's request handler, upile.serve's by default)."""

    def __init__(self, tmp, csms, cid="FW1", kind="rsa", root=True, v2_modules=None, ota=None, handler=None,
                 heap="1M"):
        self.tmp, self.csms, self.cid = tmp, csms, cid
        key, keys = otakit.dev_key(tmp / "key")
        self.sd = fwsign.keygen(tmp / "ocpp-keys", kind)
        self.ch = otakit.Channel(tmp / "srv", handler=handler)
        self.rel = {}
        for name, ver, counter in (("v1", "1.0.0", 1), ("v2", "2.0.0", 2)):
            tree = otakit.app_tree(tmp / ("tree-" + name), ver, extra=v2_modules if name == "v2" else None)
            self.rel[name] = (tree, otakit.make(tmp / "srv" / name, tree, ver, counter, key))
            fwsign.sign_release(tmp / "srv" / name, self.sd)
        extra = {"pile": {"id": cid, "ports": 2}, "charging": {"board": "esp32-2p", "noload_s": 30, "sample_s": 0},
                 "net": {"ntp_host": "", "order": "wifi"}, "modem": {"enabled": False},
                 "service": {"enabled": True, "uart": 1, "tx": 18, "rx": 39},
                 "backend": {"protocol": "ocpp"},
                 "ocpp": {"url": csms.url, "backoff_min_s": 1, "backoff_max_s": 4}}
        config = otakit.sim_config(self.ch.url("v1"), dict(OTA, **(ota or {})), extra)
        self.b = SimBoard(tmp / "board", heap=heap)
        files = otakit.factory_files(self.rel["v1"][0], tmp / "srv" / "v1", self.rel["v1"][1], keys, config)
        if root:
            files["/data/ocpp/certs/M0.der"] = (self.sd / fwsign.ROOT_DER).read_bytes()
        self.b.install_files(files)
        self.b.net.add_ap("sim-ap", "simkey123", rssi=-58)
        otakit.wired_link(self.b)
        self.meter = MeterPeer(demo_charging.board_pins("esp32-2p"), n=2)
        self.b.attach_uart(2, self.meter)
        self.svc = ServicePeer()
        self.b.attach_uart(1, self.svc)

    def on(self, boots):
        self.b.power_on()
        self.csms.wait_pile(self.cid, 90, boots=boots)

    @property
    def p(self):
        return self.csms.pile(self.cid)

    def location(self, name="v2"):
        return self.ch.url(name) + "/manifest.dsse.json"

    def request(self, rid, name="v2", **kw):
        return fwsign.request(self.tmp / "srv" / name, self.location(name), rid, **kw)

    def statuses(self, rid):
        return [s["status"] for s in self.p.fw_statuses if s["requestId"] == rid]

    def wait_status(self, rid, status, timeout=90):
        return self.csms.wait(lambda: status in self.statuses(rid), timeout,
                              "%s of request %d (so far %s)" % (status, rid, self.statuses(rid)))

    def events(self, kind):
        return [e for e in self.p.security_events if e["type"] == kind]

    def close(self):
        self.b.close()
        self.ch.close()

    def tail(self):
        return self.b.console_text()[-5000:]
