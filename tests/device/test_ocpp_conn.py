# heapsize: 512K
# The connection rules inside MicroPython: the URL with the percent-encoded id, the Basic
# credentials from the AuthorizationKey's decoded bytes, the clock floor before TLS when no
# time source answered yet, a new profile or key tried and dropped after failed connects,
# the reconnect backoff's range; and a late answer to a transaction message taken.
import asyncio

import websocket
from firmware import config
from firmware.proto.ocpp import conn


class FakeStation:
    def __init__(self, now=None):
        self.floors = []
        self.changes = []
        self._now = now
        self.bus = self

    def now(self):
        return self._now

    def clock_floor(self, unix):
        self.floors.append(unix)
        return True

    def change_config(self, partial):
        self.changes.append(partial)


class FakeCp:
    def __init__(self, **o):
        cfg = config.defaults()
        cfg["backend"]["protocol"] = "ocpp"
        cfg["ocpp"].update({"url": "ws://csms.test:9000/ocpp"})
        cfg["ocpp"].update(o)
        self.o = cfg["ocpp"]
        self.id = "CP 7/ü"
        self.data = "/nonexistent/ocpp"  # no installed roots
        self.station = FakeStation()
        self.events = []

    def security(self, kind, tech=""):
        self.events.append((kind, tech))

    def use(self, mod, fn, *args):  # cp.use without the drop
        m = __import__("firmware.proto.ocpp." + mod, None, None, [fn])
        return getattr(m, fn)(self, *args)


def test_url_percent_encodes_the_id_and_tls_profiles_use_the_wss_endpoint():
    cp = FakeCp(url_tls="wss://csms.test:9443/ocpp/")
    c = conn.Conn(cp)
    assert c.url(1) == "ws://csms.test:9000/ocpp/CP%207%2F%C3%BC"
    assert c.url(2) == "wss://csms.test:9443/ocpp/CP%207%2F%C3%BC"


async def _try_open(c):
    try:
        await c.open()
        raise AssertionError("connected to nothing")
    except websocket.WSError as e:
        return e


async def test_tls_gets_the_clock_floor_only_while_no_time_source_answered():
    from firmware.proto.ocpp import buildtime

    cp = FakeCp(url="wss://127.0.0.1:9/ocpp", profile=2, auth_key="00" * 16, ca="/nonexistent/ca.der")
    c = conn.Conn(cp)
    e = await _try_open(c)
    assert e.args[0] == "tls" and "no CSMS root certificate" in e.args[1]
    import os

    path = (os.getenv("UPILE_TMP") or ".") + "/ca.der"
    with open(path, "wb") as f:
        f.write(b"not a certificate")
    cp.o["ca"] = path
    e = await _try_open(c)
    assert cp.station.floors == [buildtime.FLOOR] and buildtime.FLOOR > 1735689600  # after 2025
    cp.station._now = 1800000000  # NTP, the modem or the CSMS gave the time: no floor
    await _try_open(c)
    assert cp.station.floors == [buildtime.FLOOR]


async def test_a_new_profile_that_fails_three_connects_falls_back():
    cp = FakeCp(profile=1, auth_key="11" * 16)
    c = conn.Conn(cp)
    c.switch(key="22" * 16)
    assert c.key == "22" * 16 and c.trial is not None
    for _ in range(conn.SWITCH_TRIES - 1):
        await _try_open(c)  # nothing listens on csms.test: a failed connect
    assert c.key == "22" * 16
    await _try_open(c)
    assert c.key == "11" * 16 and c.profile == 1 and c.trial is None
    assert cp.station.changes == []  # nothing was kept
    c.switch(profile=2)
    c.accepted()  # a connection with it was accepted: kept on flash
    assert cp.station.changes == [{"ocpp": {"profile": 2, "auth_key": "11" * 16}}] and c.trial is None


def test_a_refused_csms_certificate_and_refused_credentials_are_security_events_once_per_run():
    cp = FakeCp(url_tls="wss://csms.test:9443/ocpp", profile=2, auth_key="00" * 16)
    c = conn.Conn(cp)
    # our own missing files and a connection refused: no security event
    c._failed(websocket.WSError("tls", "no CSMS root certificate at /config/ocpp_ca.der"))
    c._failed(websocket.WSError("tls", "bad CA certificate: invalid cert"))
    c._failed(websocket.WSError("connect", "connect: OSError 111"))
    c._failed(websocket.WSError("tls", "handshake: mbedTLS error -30592"))  # an alert, no verdict
    assert cp.events == []
    # mbedTLS's verify text (a ValueError in the handshake): InvalidCentralSystemCertificate,
    # once however often the pile retries
    bad = "handshake: The certificate is not correctly signed by the trusted CA"
    for _ in range(3):
        c._failed(websocket.WSError("tls", bad))
    assert cp.events == [("InvalidCentralSystemCertificate", "csms.test:9443 " + bad)]
    c._failed(websocket.WSError("tls", "connect: mbedTLS error -9984"))  # X509 verify failed, no text
    assert len(cp.events) == 1
    c._failed(websocket.WSError("status", "HTTP 401 Unauthorized", 401))
    assert cp.events[-1][0] == "FailedToAuthenticateAtCentralSystem" and len(cp.events) == 2
    c.told = None  # what a connection accepted does (open() resets it): the next run tells again
    c._failed(websocket.WSError("tls", "connect: mbedTLS error -9984"))
    assert cp.events[-1][0] == "InvalidCentralSystemCertificate" and len(cp.events) == 3


def test_backoff_doubles_with_jitter_within_its_bounds():
    cp = FakeCp(backoff_min_s=2, backoff_max_s=60)
    c = conn.Conn(cp)
    for fails, lo, hi in ((1, 1000, 2000), (2, 2000, 4000), (3, 4000, 8000), (10, 30000, 60000)):
        c.fails = fails
        got = [c.backoff_ms() for _ in range(50)]
        assert min(got) >= lo and max(got) <= hi, (fails, min(got), max(got))
        assert len(set(got)) > 10  # jittered: a fleet does not reconnect in step


async def test_a_late_answer_to_the_queues_head_is_taken():
    from ocppbench import Bench

    b = Bench(ocpp={"call_timeout_s": 1})
    try:
        await b.booted()
        b.csms.silent.add("StartTransaction")
        b.station.start(1, "full", 0, "x", "card")
        b.plug(1)
        await b.run(5)
        await b.until(lambda: b.cp.tx.timeouts >= 1, ms=4000)
        (mid, _, p), = b.csms.of("StartTransaction")
        b.ws.feed([3, mid, {"transactionId": 77, "idTagInfo": {"status": "Accepted"}}])  # late
        await b.until(lambda: b.cp.txq.txid_of(b.station.port(1)["id"]) == 77)
        assert b.cp.tx.lates == 1 and len(b.csms.of("StartTransaction")) == 1
        b.ws.feed([3, "T999", {}])  # an answer nobody waits for: dropped, harmless
        await b.settle(50)
        assert b.cp.rpc.dropped >= 1
    finally:
        b.close()
