"""The command interface: the one thing a protocol may call to act on the pile.

Protocols (firmware/proto/: the maintenance port, OCPP, DNY) and the pile's own front call
a Station; they never import a domain module. Events go the other way, on the bus
(firmware/bus.py). The app builds one Station and attaches the domains it started, so a
pile without a modem or without OTA still answers (with a Refused code) instead of crashing.

Every refusal raises Refused(code, detail): the code is a stable word a protocol maps to its
own answer (e.g. OCPP Rejected / Occupied / Faulted, DNY failure codes).
"""
import time

from firmware.version import VERSION

_SECRET = ("key", "pass", "psk", "secret", "token", "pin", "auth", "cred")


class Refused(Exception):
    """args: (code, detail). Codes: no_pile, no_such_port, bad_budget, bad_method, bad_ref, port_busy,
    port_faulted, unavailable, reserved, over_temperature, total_power_exceeded, no_session,
    fault_active, bad_limit, no_ota, no_url, busy, bad_config, bad_args; a protocol's start guard
    adds its own (OCPP: queue_full); tap(): not_authorized, not_owner."""

    @property
    def code(self):
        return self.args[0]


def _secret(name):
    n = name.lower()
    for w in _SECRET:
        if w in n:
            return True
    return False


def masked(obj, name=""):
    """A copy of a config value with every secret-looking string replaced by "***"."""
    if isinstance(obj, dict):
        return {k: masked(v, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [masked(v, name) for v in obj]
    if isinstance(obj, str) and obj and _secret(name):
        return "***"
    return obj


class Station:
    def __init__(self, cfg, bus, version=VERSION, reset=None):
        self.cfg = cfg
        self.bus = bus
        self.version = version
        self.pile = None
        self.ota = None  # firmware.ota.service.Ota
        self.net = None  # firmware.net.service.Net
        self._reset = reset  # fn(hard, reason): the app's orderly restart
        self.backend_ok = False  # a back end accepted us this boot (the health rule asks)
        self.t0 = time.ticks_ms()
        self._guards = []  # fn(port, method, id_tag) -> None | (code, detail): a protocol refusing starts
        self._authorizer = None  # async fn(id_tag) -> (status, parent id tag): the back end's answer
        self._parents = {}  # session id -> parent id tag of the card that started it (tap())
        self.stop_tags = {}  # session id -> the card that stopped it (tap()); a protocol pops it
        self.config_path = None  # where change_config writes (None: config.PATH; tests: a temp file)

    def attach(self, pile=None, ota=None, net=None):
        """The app hands over the domains it started (each may be None)."""
        if pile is not None:
            self.pile = pile
        if ota is not None:
            self.ota = ota
        if net is not None:
            self.net = net

    def _pile(self):
        if self.pile is None:
            raise Refused("no_pile", "charging is not running")
        return self.pile

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except Exception as e:  # the domain's refusal (ChargeError) keeps its code
            if type(e).__name__ == "ChargeError":
                raise Refused(e.args[0], "")
            raise

    # ---- who we are
    def identity(self):
        """What a back end registers: ids, product, the version that runs, SIM identity."""
        d = {"id": self.cfg["pile"]["id"], "product": self.cfg["pile"]["product"], "version": self.version,
             "ports": self.ports()}
        m = self.net.modem if self.net is not None else None
        if m is not None:
            d.update({"iccid": m.iccid, "imei": m.imei, "modem": m.revision,
                      "imsi": getattr(m, "imsi", None)})  # once the modem driver reads it (AT+CIMI)
        return d

    def ports(self):
        return len(self.pile.ports) if self.pile is not None else 0

    # ---- sessions
    def start(self, port, kind="full", amount=0, id_tag=None, method="remote", reservation=None, ref=None):
        """Start a session on a port with a budget (kind: time min | energy Wh | money fen |
        full). `ref`: the protocol's own reference for it (<= 40 chars, e.g. a DNY order
        number), journalled with the session and echoed in its events and bill. Returns the
        session id."""
        for g in self._guards:
            r = g(port, method, id_tag)
            if r:
                raise Refused(r[0], r[1])
        return self._call(self._pile().start, port, kind, amount, id_tag, method, reservation, ref)

    def stop(self, port, reason="Remote", cause="remote"):
        """Stop a port's session; returns its bill (session.stopped's fields)."""
        from firmware.charging.session import view

        return view(self._call(self._pile().stop, port, reason, cause))

    def stop_all(self, reason="Other", cause="stop_all"):
        if self.pile is not None:
            self.pile.stop_all(reason, cause)

    def reserve(self, port, id_tag, expire_s=None, reservation=None):
        self._call(self._pile().reserve, port, id_tag, expire_s, None, 0, reservation)

    def schedule(self, port, kind, amount, start_in_s, id_tag=None):
        self._call(self._pile().schedule, port, kind, amount, start_in_s, id_tag)

    def cancel_reservation(self, port):
        return self._call(self._pile().cancel_reservation, port)

    def set_limit(self, port, watts):
        """A power limit in W for a port or the pile (port 0); None lifts it."""
        self._call(self._pile().set_limit, port, watts)

    def set_available(self, port, on):
        """Port 0 = the whole pile. "Accepted", or "Scheduled" while a session runs."""
        return self._call(self._pile().set_available, port, on)

    def clear_fault(self, port):
        return self._call(self._pile().clear_fault, port)

    # ---- reading
    def port(self, n):
        """One port's status, readings, register and session (dict)."""
        return self._call(self._pile().info, n)

    def is_idle(self):
        return self.pile is None or self.pile.is_idle()

    def status(self):
        """The whole pile in one dict (what `upile status` and a back end's query show)."""
        d = {"version": self.version, "id": self.cfg["pile"]["id"], "uptime_s": time.ticks_diff(time.ticks_ms(), self.t0) // 1000,
             "time": self.bus.now()}
        if self.pile is not None:
            d["ports"] = [p.status for p in self.pile.ports]
            d["idle"] = self.pile.is_idle()
            d["total_w"] = self.pile.total_w
        if self.net is not None:
            d["link"] = self.net.links.kind
        d["ota"] = self.update_status()
        return d

    def pending_bills(self, limit=20):
        return self._pile().pending_bills(limit)

    def each_pending_bill(self):
        return self._pile().each_pending_bill()

    def ack_bill(self, sid):
        """The back end has bill `sid`: it leaves the pending list (False if not pending)."""
        return self._pile().ack_bill(sid)

    # ---- configuration
    def config(self, section=None):
        """The running config (or one section), secrets masked."""
        if section is None:
            return masked(self.cfg)
        if section not in self.cfg:
            raise Refused("bad_args", "no config section " + section)
        return masked(self.cfg[section])

    def change_config(self, partial):
        """A back end's config change {section: {key: value}}: validated against the stored
        config and written atomically (firmware/cfgstore.py), then set in the running config,
        where the keys read at each use (charging.sample_s, charging.noload_s, the ocpp
        section) take effect at once. Returns the complete config. Refused("unknown_key") for a
        key this firmware does not have, Refused("bad_config", message naming the key) for a
        refused value (nothing written), OSError when the flash failed. The validator leaves
        the heap again afterwards."""
        import sys

        loaded = "firmware.config" in sys.modules
        from firmware import cfgstore, config

        try:
            path = self.config_path or config.PATH
            try:
                new, complete = cfgstore.change(config.read(path) or {}, partial)
                cfgstore.write(new, path)
            except config.ConfigError as e:
                raise Refused("unknown_key" if e.unknown else "bad_config", e.args[0])
            for sec, vals in partial.items():
                for key in vals:
                    self.cfg[sec][key] = complete[sec][key]
            return complete
        finally:
            if not loaded:
                config.forget([m for m in ("firmware.cfgstore", "firmware.config") if m in sys.modules])

    # ---- updates
    def request_update(self, url=None, request_id=None):
        """Check for a release now (optionally at another release URL); the ota.* events
        that follow carry request_id."""
        o = self.ota
        if o is None:
            raise Refused("no_ota", "the OTA service is not running")
        if not (url or o.cfg["url"]):
            raise Refused("no_url", "ota.url is not configured")
        if o.busy:
            raise Refused("busy", o.phase)
        o.request_check(url, request_id)
        return "requested"

    def update_status(self):
        if self.ota is None:
            return {"phase": "off"}
        from firmware import ota

        return ota.status()

    # ---- logs
    def log_lines(self, directory="/data/log"):
        """Every line of the persistent log, oldest first, one at a time from flash."""
        for name in ("log.1", "log.0"):
            try:
                f = open(directory + "/" + name)
            except OSError:
                continue
            try:
                for line in f:
                    yield line.rstrip("\n")
            finally:
                f.close()

    # ---- what a back-end protocol adds (OCPP, DNY)
    def add_start_guard(self, fn):
        """fn(port, method, id_tag) -> None or (code, detail): a protocol that cannot take one
        more session (OCPP: its transaction queue on flash is full) refuses starts, with a reason."""
        self._guards.append(fn)

    def set_authorizer(self, fn):
        """async fn(id_tag) -> (status, parent): how the back end judges a card or code
        (OCPP Authorize, its cache and offline rules); status "Accepted" lets it charge."""
        self._authorizer = fn

    async def authorize(self, id_tag):
        """A local identification (card, code): (status, parent id tag). Without a back-end
        protocol that decides: ("Accepted", None), the pile's front applies its own rules."""
        if self._authorizer is None:
            return "Accepted", None
        return await self._authorizer(id_tag)

    async def tap(self, port, id_tag):
        """A card (or code) presented at a port: on an idle port it starts a session until full
        once the back end accepts it; on a running port the card that started it, or another
        of the same parent id tag, stops it (Local). Returns ("started", id) or ("stopped", bill);
        refusals: not_authorized (detail: the back end's status), not_owner, the start's codes."""
        info = self.port(port)
        sid = info.get("id")
        if sid is None:
            st, parent = await self.authorize(id_tag)
            if st != "Accepted":
                raise Refused("not_authorized", st)
            sid = self.start(port, "full", 0, id_tag, "card")
            if parent:
                self._parents[sid] = parent
            return "started", sid
        if id_tag != info.get("id_tag"):
            parent = self._parents.get(sid)
            if parent is None:  # nothing to compare with: no question to the back end (OCTT TC_068)
                raise Refused("not_owner", "")
            st, other = await self.authorize(id_tag)
            if st != "Accepted" or other != parent:
                raise Refused("not_owner", "")
        self._parents.pop(sid, None)
        self.stop_tags[sid] = id_tag  # who stopped it (OCPP StopTransaction idTag), read by the protocol
        return "stopped", self.stop(port, "Local", "card")

    def backend_traffic(self, ok):
        """A protocol's traffic with its back end worked or failed (spares link probes)."""
        if self.net is not None:
            self.net.links.report(ok)

    def data_used(self, tx, rx):
        """Bytes a protocol moved on the active link (the monthly cellular budget counts them)."""
        if self.net is not None:
            self.net.budget.count(tx, rx)

    def link(self):
        """The link up now ("wifi", "cellular"), None while down; "other" without a net domain."""
        if self.net is None:
            return "other"
        return self.net.links.kind

    def set_time(self, source, unix):
        """A back end's time (OCPP currentTime) when no better source set the clock this
        boot; NTP and the modem's time win (net/timesync.py). True when the clock was set."""
        if self.net is None or self.net.time.synced():
            return False
        return self.net.time.set(source, unix)

    def clock_floor(self, unix):
        """Before TLS: a clock still below `unix` (the release's build time) is raised to it,
        so certificate date checks refuse what expired before the release (docs/ocpp.md)."""
        from firmware.board import clock

        if clock.utc() < unix:
            clock.set_utc(unix)
            return True
        return False

    # ---- health and restarts
    def backend_reached(self):
        """A protocol's back end accepted this pile (the trial-boot health rule asks)."""
        if not self.backend_ok:
            self.backend_ok = True
            if self.ota is not None:
                self.ota.backend_reached()

    def reset(self, hard=False, reason="command"):
        """An orderly restart on command (sessions stopped first by the caller's rules)."""
        if self._reset is None:
            raise Refused("unsupported", "no restart hook")
        self._reset(hard, reason)
