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
    fault_active, bad_limit, no_ota, no_url, busy, bad_config, unknown_key, no_memory, bad_args, no_front,
    alarm; a protocol's start guard adds its own (OCPP: queue_full); tap(): not_authorized, not_owner."""

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
        self.front = None  # firmware.front.Front: cards, codes, alarms (docs/front.md)
        self._reset = reset  # fn(hard, reason): the app's orderly restart
        self.backend_ok = False  # a back end accepted us this boot (the health rule asks)
        self.config_path = None  # where change_config writes (None: config.PATH; tests elsewhere)
        self.t0 = time.ticks_ms()
        self._guards = []  # fn(port, method, id_tag) -> None | (code, detail): a protocol refusing starts
        self._authorizer = None  # async fn(id_tag) -> (status, parent id tag): the back end's answer
        self._parents = {}  # session id -> parent id tag of the card that started it (tap())
        self.stop_tags = {}  # session id -> the card that stopped it (tap()); a protocol pops it

    def attach(self, pile=None, ota=None, net=None, front=None):
        """The app hands over the domains it started (each may be None)."""
        if front is not None:
            self.front = front
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
        except Exception as e:  # the domain's refusal (ChargeError) keeps its code; by name, so
            # a station over a stand-in pile (tests, the console's) never loads charging/pile.py
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
            d.update({"iccid": m.iccid, "imei": m.imei, "modem": m.revision, "dbm": m.dbm,
                      "imsi": getattr(m, "imsi", None)})  # once the modem driver reads it (AT+CIMI)
        return d

    def ports(self):
        return len(self.pile.ports) if self.pile is not None else 0

    # ---- sessions
    def start(self, port, kind="full", amount=0, id_tag=None, method="remote", reservation=None, ref=None, parent=None):
        """Start a session on a port with a budget (kind: time min | energy Wh | money fen |
        full). `ref`: the protocol's own reference for it (<= 40 chars, e.g. a DNY order
        number), journalled with the session and echoed in its events and bill. `parent`: the
        id tag's group (OCPP parentIdTag), which may use a port reserved for that group.
        Returns the session id."""
        for g in self._guards:
            r = g(port, method, id_tag)
            if r:
                raise Refused(r[0], r[1])
        return self._call(self._pile().start, port, kind, amount, id_tag, method, reservation, ref, parent)

    def stop(self, port, reason="Remote", cause="remote"):
        """Stop a port's session; returns its bill (session.stopped's fields)."""
        from firmware.charging.session import view

        return view(self._call(self._pile().stop, port, reason, cause))

    def change_budget(self, port, kind, amount):
        """A running session's budget becomes kind (time min | energy Wh) and amount, journalled
        (DNY 0x8A). Returns "below_used" when it is already used up (the session then stops
        with cause budget at the next control step), else "ok"."""
        return self._call(self._pile().change, port, kind, amount)

    def stop_all(self, reason="Other", cause="stop_all"):
        if self.pile is not None:
            self.pile.stop_all(reason, cause)

    def reserve(self, port, id_tag, expire_s=None, reservation=None, parent=None):
        """Hold an idle port for id_tag (or any tag of the `parent` group) for expire_s
        (None: charging.reserve_s); Reserved meanwhile. The same reservation id replaces its
        own reservation. Refused: port_busy (a session or another reservation), port_faulted,
        unavailable."""
        self._call(self._pile().reserve, port, id_tag, expire_s, None, 0, reservation, parent)

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
            d["temp_dc"] = self.pile.temp.max_dc  # the pile's hottest sensor (None: no reading)
        if self.net is not None:
            d["link"] = self.net.links.kind
        d["ota"] = self.update_status()
        return d

    def report(self):
        """Everything `upile status --json` shows: version, slots, OTA state, reset cause,
        heap, flash and every live part's status (firmware/diag.py), as one dict."""
        from firmware import diag

        return diag.report(self.version)

    def pending_bills(self, limit=20):
        return self._pile().pending_bills(limit)

    def bills_pending(self):
        """How many bills wait for the back end (all of them, not only a listed page)."""
        return len(self._pile().store.pending)

    def each_pending_bill(self):
        return self._pile().each_pending_bill()

    def bill_pending(self, sid):
        """Is bill `sid` still waiting for the back end?"""
        return sid in self._pile().store.pending

    def ack_bill(self, sid):
        """The back end has bill `sid`: it leaves the pending list (False if not pending)."""
        return self._pile().ack_bill(sid)

    # ---- the pile's front (docs/front.md): what a back-end protocol plugs into
    def _front(self):
        if self.front is None:
            raise Refused("no_front", "the front is not running")
        return self.front

    def card_answer(self, req, accepted, kind=None, amount=0, balance=None, reason=None):
        """The back end's answer to a card.ask event (req): accepted with a budget (kind,
        amount; None: the pile's default) and the card's balance in fen, or refused with a
        reason. False when nobody waits for req any more (answered too late)."""
        return self._front().card_answer(req, accepted, kind, amount, balance, reason)

    def set_card(self, id_tag, kind, amount, balance=None):
        """Add or change a card in the pile's local list (used offline)."""
        self._front().set_card(id_tag, kind, amount, balance)

    def issue_code(self, code, port=0, kind="full", amount=0, expires=0):
        """A one-time 6-digit start code the pile accepts once (port 0: any port; expires:
        unix seconds, 0 never)."""
        self._front().issue_code(code, port, kind, amount, expires)

    def pending_alarms(self, limit=20):
        """Alarm changes (smoke, water, door) not yet acknowledged, oldest first:
        [{id, what, on, unix}]."""
        return self.front.pending_alarms(limit) if self.front is not None else []

    def ack_alarm(self, aid):
        """The back end has alarm change `aid`: it leaves the pending list."""
        return self.front is not None and self.front.ack_alarm(aid)

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
        refused value or a flash that failed (nothing written), Refused("no_memory") when the
        validator did not fit the heap. The validator leaves the heap again afterwards."""
        import sys

        loaded = "firmware.config" in sys.modules
        from firmware import cfgstore, config

        path = self.config_path or config.PATH
        try:
            new, complete = cfgstore.change(config.read(path) or {}, partial)
            cfgstore.write(new, path)
        except config.ConfigError as e:
            raise Refused("unknown_key" if e.unknown else "bad_config", e.args[0])
        except OSError as e:
            raise Refused("bad_config", "not written: %r" % e)
        except MemoryError:  # the validator did not fit the heap now: refused, nothing written
            raise Refused("no_memory", "config change not checked: heap exhausted")
        finally:
            if not loaded:  # the validator's SCHEMA is big: the running app needs only the dict
                config.forget([m for m in ("firmware.cfgstore", "firmware.config") if m in sys.modules])
        for sec, vals in partial.items():
            for key in vals:
                self.cfg[sec][key] = complete[sec][key]
        return complete

    # ---- back ends (OCPP, DNY) and the pile's front
    def set_time(self, source, unix):
        """A time from a back end (DNY 0x22, OCPP currentTime) for the clock, through the net
        domain's TimeSync, whose rules decide (a recent NTP time is not stepped by it). True if
        set; False also without a net domain (nobody keeps the time)."""
        if self.net is None:
            return False
        return self.net.time.set(source, unix)

    def backend_state(self, online, protocol, reason=""):
        """A protocol's back end accepted the pile (online) or was lost: published as
        backend.online / backend.offline; online also counts as reached (the health rule)."""
        self.bus.publish("backend.online" if online else "backend.offline", {"protocol": protocol, "reason": reason})
        if online:
            self.backend_reached()

    def backend_traffic(self, ok, tx=0, rx=0):
        """A protocol's traffic with its back end worked (or not; None: only count) and moved
        tx/rx bytes: the link manager spares its probes, the data budget counts the bytes."""
        n = self.net
        if n is not None:
            if ok is not None:
                n.links.report(ok)
            if tx or rx:
                n.budget.count(tx, rx)

    def update_sink(self):
        """The OTA engine's push-fed sink for an update a back end sends in packets
        (firmware/ota/push.py; DNY's in-band OTA)."""
        if self.ota is None:
            raise Refused("no_ota", "the OTA service is not running")
        from firmware.ota import push

        return push.sink()

    # ---- updates
    def request_update(self, url=None, request_id=None, opts=None):
        """Check for a release now (optionally at another release URL); the ota.* events
        that follow carry request_id, and the check ends with ota.Finished. opts: a back
        end's conditions (firmware/ota/service.py request_check: retries, backoff_s, verify,
        not_before)."""
        o = self.ota
        if o is None:
            raise Refused("no_ota", "the OTA service is not running")
        if not (url or o.cfg["url"]):
            raise Refused("no_url", "ota.url is not configured")
        if o.busy:
            raise Refused("busy", o.phase)
        o.request_check(url, request_id, opts)
        return "requested"

    def update_status(self):
        if self.ota is None:
            return {"phase": "off"}
        from firmware.ota import status

        return status.status()

    # ---- logs
    def log_lines(self, directory="/data/log"):
        """Every line of the persistent log, oldest first, one at a time from flash (lines
        still in the logger's buffer are flushed first). Close it when stopping early."""
        import log

        log.flush()
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
            sid = self.start(port, "full", 0, id_tag, "card", parent=parent)
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

    def link(self):
        """The link up now ("wifi", "cellular"), None while down; "other" without a net domain."""
        if self.net is None:
            return "other"
        return self.net.links.kind

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
