"""The connection to the CSMS: URL, security profile, credentials, TLS, reconnects.

- URL = endpoint + "/" + percent-encoded charge point id (OCPP-J 3); subprotocol ocpp1.6,
  a server that selects none or another is a failure with its own log line.
- Security profiles (whitepaper section 2): 0 plain ws, 1 ws + Basic, 2 wss + Basic, 3 wss +
  client certificate. Basic = (id, the AuthorizationKey's hex decoded to bytes), never logged.
  wss is verified against the provisioned CSMS root `ocpp.ca` and every installed
  CentralSystemRootCertificate (certs.py; lib/netconn.py: CERT_REQUIRED, host name).
- A new SecurityProfile or AuthorizationKey (ChangeConfiguration) is tried at once and kept
  on flash only after a connection with it was accepted; `SWITCH_TRIES` failed connections
  fall back to the previous one (whitepaper A05: the profile never drops otherwise).
- The clock before TLS: with no time from NTP, the modem or a CSMS yet, a clock below the
  release's build time is raised to it (station.clock_floor), so an expired certificate
  is still refused.
- Security events (whitepaper section 8; security log only, none is critical): a TLS
  handshake that refuses the CSMS's certificate (mbedTLS's verify text: another CA, expired,
  another host name) is InvalidCentralSystemCertificate; HTTP 401 to our Basic credentials is
  FailedToAuthenticateAtCentralSystem. Once per run of failures (until a connection is
  accepted), so a pile retrying all night does not push older events out of the bounded log.
- Any refusal (HTTP 404 for an unknown id, 401, 5xx, TLS, no route) is retried after a
  backoff that doubles from backoff_min_s to backoff_max_s with jitter (50-100 %).
"""
import asyncio
import binascii
import random

from micropython import const

import log

_log = log.get("ocpp")
SWITCH_TRIES = const(3)
_MAX_MSG = const(16384)  # largest message accepted from the CSMS (a GetConfiguration answer is ours)
_BUF = const(512)  # WebSocket read/write buffers: most OCPP messages fit; a longer one gets its own


def read_file(path):
    """A small file's bytes (a certificate, a key), None when it is not there."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _event(why, detail, status):
    """The security event of a failed connect, or None. Our own missing or unreadable files
    ("no CSMS root ...", "bad CA certificate ...") are no event; a handshake's certificate
    verdict comes from mbedTLS as a ValueError with its verify text ("connect: The
    certificate ...", lib/netconn.io_error) or as X509 verify failed (-0x2700)."""
    if why == "status" and status == 401:
        return "FailedToAuthenticateAtCentralSystem"
    if why != "tls" or detail.split(":", 1)[0] not in ("connect", "handshake"):
        return None
    if "mbedTLS error" in detail and not detail.endswith(" -9984"):
        return None  # an alert, a reset, a protocol error: not a verdict on the certificate
    return "InvalidCentralSystemCertificate"


class Conn:
    def __init__(self, cp):
        self.cp = cp
        self.o = cp.o
        self.profile = self.o["profile"]
        self.key = self.o["auth_key"]
        self.trial = None  # (profile, key, previous profile, previous key) while a switch is tried
        self.tries = 0
        self.fails = 0  # failed connects in a row (backoff)
        self.last_error = None
        self.connects = 0
        self.ws = None
        self.told = None  # the security event of this run of failed connects, once

    def url(self, profile):
        import websocket

        o = self.o
        base = o["url"]
        if profile >= 2 and not base.startswith("wss://"):
            base = o["url_tls"]
        return base.rstrip("/") + "/" + websocket.quote(self.cp.id)

    def switch(self, profile=None, key=None):
        """Try a new profile and/or key from now on (kept only once a connection accepted it)."""
        p = self.profile if profile is None else profile
        k = self.key if key is None else key
        if self.trial is None:
            self.trial = (p, k, self.profile, self.key)
        else:
            self.trial = (p, k, self.trial[2], self.trial[3])
        self.profile, self.key = p, k
        self.tries = 0

    async def open(self):
        """A connected WebSocket with the current profile; raises websocket.WSError."""
        import websocket

        o = self.o
        p = self.profile
        kw = {"timeout": 20, "max_size": _MAX_MSG, "bufsize": _BUF}
        if p in (1, 2):
            kw["auth"] = (self.cp.id, binascii.unhexlify(self.key))
        url = self.url(p)
        if url.startswith("wss://"):
            kw["cadata"] = self._roots()
            if p == 3:
                kw["cert"], kw["key"] = read_file(o["cert"]), read_file(o["cert_key"])
                if kw["cert"] is None or kw["key"] is None:
                    raise websocket.WSError("tls", "no charge point certificate or key for profile 3")
            if not self.cp.station.bus.now():
                from firmware.proto.ocpp import buildtime

                if self.cp.station.clock_floor(buildtime.FLOOR):
                    _log.warn("clock unknown before TLS: raised to the release's build time %d", buildtime.FLOOR)
        self.connects += 1
        try:
            ws = await websocket.connect(url, ("ocpp1.6",), **kw)
        except websocket.WSError as e:
            self._failed(e)
            raise
        except (OSError, ValueError) as e:  # anything the library did not map: same handling
            err = websocket.WSError("io", repr(e))
            self._failed(err)
            raise err
        self.ws = ws
        self.fails = 0
        self.last_error = None
        self.told = None
        _log.info("connected to the CSMS as %s (security profile %d)", self.cp.id, p)
        return ws

    def _roots(self):
        """ocpp.ca and the installed CentralSystemRootCertificates, a generator (certs.py,
        imported for the call and dropped by cp.use; the generator keeps what it uses)."""
        import websocket

        r = self.cp.use("certs", "handshake_roots")
        if r is None:
            raise websocket.WSError("tls", "no CSMS root certificate (none at %s, none installed)" % self.o["ca"])
        return r

    def _failed(self, e):
        self.fails += 1
        why = e.args[0] if e.args else "?"
        detail = e.args[1] if len(e.args) > 1 else ""
        status = getattr(e, "status", None)
        self.last_error = "%s %s" % (why, status or "")
        if why == "subprotocol":
            _log.error("the CSMS does not speak ocpp1.6 (%s): check ocpp.url", detail)
        elif why == "status" and status == 404:
            _log.error("the CSMS does not know charge point id %s (HTTP 404)", self.cp.id)
        elif why == "status" and status == 401:
            _log.error("the CSMS refused the credentials of %s (HTTP 401)", self.cp.id)
        elif why == "status" and status == 400:
            _log.error("HTTP 400: the CSMS refused the upgrade (some answer so an ocpp1.6 offer they do not serve)")
        else:
            _log.warn("connect failed: %s %s %s", why, status or "", detail)
        ev = _event(why, detail, status)
        if ev is not None and ev != self.told:
            self.told = ev
            self.cp.security(ev, "%s %s" % (self.url(self.profile).split("/")[2], detail))
        if self.trial is not None:
            self.tries += 1
            if self.tries >= SWITCH_TRIES:
                p, k, self.profile, self.key = self.trial
                self.trial = None
                _log.error("security profile %d / new key failed %d times: back to profile %d",
                           p, SWITCH_TRIES, self.profile)

    def accepted(self):
        """The CSMS accepted a boot on this connection: a profile or key on trial is kept."""
        t = self.trial
        if t is None:
            return
        self.trial = None
        try:
            self.cp.station.change_config({"ocpp": {"profile": self.profile, "auth_key": self.key}})
            _log.info("security profile %d and its key kept", self.profile)
        except Exception as e:  # noqa: BLE001  Refused, OSError: runs on, tried again next boot
            _log.exc("could not keep security profile %d" % self.profile, e)

    def backoff_ms(self):
        o = self.o
        d = o["backoff_min_s"] * 1000 << min(self.fails - 1 if self.fails else 0, 16)
        d = min(d, o["backoff_max_s"] * 1000)
        return d // 2 + random.getrandbits(16) * (d // 2) // 65536

    def status(self):
        return {"profile": self.profile, "trial": self.trial is not None, "connects": self.connects,
                "fails": self.fails, "last_error": self.last_error, "connected": self.ws is not None}
