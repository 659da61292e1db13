"""Device configuration: defaults in one place, a schema, the rules, a loader.

Runs on MicroPython (the device checks /config/pile.json at boot and before it writes one)
and on CPython (`upile provision` and `upile fsimage` import this module from the source
tree): one validate() everywhere. SCHEMA maps section -> key -> (type, default, lo, hi):
type is int, str, bool, list or dict; lo/hi bound ints (and the length of str/list) when
not None. RULES names, per section, the function of the owning domain that checks what a
schema cannot (value sets, formats, one key against another, the pin map): a constructor
never discovers a bad provisioned value. docs/config.md lists every rule; changing the
stored config (remote protocols, `upile provision`) goes through firmware/cfgstore.py.
"""

SCHEMA = {
    "pile": {
        "id": (str, "PILE-0001", 1, 64),
        "product": (str, "upile-ebike-10", 1, 64),
        "ports": (int, 10, 1, 16),
    },
    # connectivity (firmware/net/, docs/net.md); *_ms so tests can shrink every interval
    "net": {
        "order": (str, "wifi,cellular", 4, 16),  # or "cellular,wifi", "wifi", "cellular"
        "check_ms": (int, 1000, 10, 60000),  # link association poll
        "probe": (str, "tcp", 3, 4),  # "tcp" connect or "http" HEAD to the backend
        "probe_ms": (int, 60000, 10, 3600000),  # probe a healthy link without recent traffic
        "probe_fail_ms": (int, 5000, 10, 600000),  # probe an unreachable link this often
        "probe_timeout_ms": (int, 5000, 10, 60000),
        "failover_ms": (int, 30000, 10, 3600000),  # backend unreachable this long: switch
        "failback_ms": (int, 60000, 10, 3600000),  # preferred link stable this long: go back
        "backoff_min_ms": (int, 2000, 10, 3600000),
        "backoff_max_ms": (int, 300000, 10, 86400000),
        "jitter_pct": (int, 20, 0, 100),
        "ntp_host": (str, "pool.ntp.org", 0, 64),  # "" = modem time only
        "ntp_interval_ms": (int, 43200000, 1000, 604800000),
    },
    "backend": {
        "host": (str, "", 0, 128),  # "" = no probe: association alone judges a link
        "port": (int, 443, 1, 65535),
        "protocol": (str, "none", 3, 4),  # the back end's protocol: none | ocpp | dny (firmware/proto/)
    },
    "wifi": {
        "networks": (list, [], 0, 8),  # [{"ssid": str, "key": str}] in priority order
        "hostname": (str, "upile", 1, 32),
        "static_ip": (str, "", 0, 18),  # "" = DHCP, else "192.168.1.50/24"
        "gateway": (str, "", 0, 15),
        "dns": (str, "", 0, 15),
        "connect_timeout_ms": (int, 15000, 10, 120000),
    },
    "modem": {
        "enabled": (bool, True, None, None),
        "apn": (str, "", 0, 63),
        "pin": (str, "", 0, 8),
        "roaming": (bool, False, None, None),
        "ppp_user": (str, "", 0, 32),
        "ppp_key": (str, "", 0, 32),
        # pins: docs/hardware.md (UART2 carries the meters; PWRKEY on GPIO12 through an NPN
        # whose base pull-down keeps the key released and the MTDI strap low while booting)
        "uart": (int, 1, 1, 2),
        "baud": (int, 115200, 9600, 921600),
        "tx": (int, 18, 0, 39),
        "rx": (int, 39, 0, 39),
        "rxbuf": (int, 4096, 256, 16384),  # PPP needs more than the default 256
        "pwrkey_pin": (int, 12, 0, 39),
        "pwrkey_active": (int, 1, 0, 1),  # level that presses the key (transistor drive)
        "model": (str, "auto", 4, 6),  # auto | a76xx | ec200 | air780: PWRKEY/boot timings (net/modem.py)
        "cmd_timeout_ms": (int, 1000, 10, 60000),
        "sync_ms": (int, 500, 10, 10000),
        "unanswered_max": (int, 3, 1, 20),  # silent this many ATs: switch on / power-cycle
        "ready_ms": (int, 0, 0, 60000),  # 0: modem.model's (A76xx UART is ready ~11 s after power-on)
        "pwron_ms": (int, 0, 0, 5000),  # 0: modem.model's
        "pwroff_ms": (int, 0, 0, 10000),  # 0: modem.model's (A76xx: >= 2.5 s)
        "off_wait_ms": (int, 0, 0, 30000),  # 0: modem.model's
        "reg_timeout_ms": (int, 120000, 10, 600000),
        "reg_poll_ms": (int, 2000, 10, 60000),
        "dial_timeout_ms": (int, 30000, 10, 120000),
        "ppp_timeout_ms": (int, 30000, 10, 120000),
        "sim_wait_ms": (int, 10000, 10, 60000),
        "hard_retries": (int, 3, 1, 100),  # no SIM / denied: tries before the long hold
        "hard_backoff_ms": (int, 3600000, 10, 86400000),
    },
    "budget": {
        "cell_month_kb": (int, 0, 0, 100000000),  # 0 = no monthly cellular budget
        "defer": (str, "image", 3, 5),  # over budget on cellular: defer "image" or "all" updates
        "save_ms": (int, 600000, 10, 86400000),
    },
    # charging (owner: charging). Defaults from docs/domain.md; times in s unless *_ms.
    "charging": {
        "board": (str, "esp32-10p", 1, 32),  # pin map in firmware/board/pins.py
        "period_ms": (int, 100, 10, 2000),  # control loop period (meters push every ~50 ms)
        "meter_timeout_ms": (int, 3000, 200, 60000),  # no reading this long: port Faulted
        "relay_check_ms": (int, 300, 20, 5000),  # readback may disagree this long (contact bounce)
        "off_power_w": (int, 20, 1, 500),  # power through an OFF relay: welded contacts...
        "relay_release_ms": (int, 100, 0, 5000),  # ...judged on readings measured this long after release
        "weld_readings": (int, 2, 1, 20),  # ...in this many readings in a row
        "fault_clear_s": (int, 10, 0, 3600),  # a self-clearing fault's cause gone this long: cleared
        "sample_s": (int, 60, 0, 3600),  # session.sample events (meter values) every...; 0 = none
        "noload_w": (int, 30, 1, 500),  # peak below this during the first noload_s: nothing plugged
        "noload_s": (int, 1800, 5, 36000),
        "unplug_w": (int, 3, 0, 100),  # below unplug_w for unplug_s, or unplug2_w for unplug2_s
        "unplug_s": (int, 10, 1, 3600),
        "unplug2_w": (int, 10, 0, 100),
        "unplug2_s": (int, 300, 1, 36000),
        "full_pct": (int, 20, 1, 90),  # full: below this % of the session's charging power...
        "full_s": (int, 1800, 10, 36000),  # ...for this long
        "full_late_s": (int, 300, 10, 36000),  # ...or this long once full_late_after_s have passed
        "full_late_after_s": (int, 10800, 60, 86400),
        "full_min_s": (int, 300, 0, 36000),  # no full detection before this much charging
        "float_s": (int, 3600, 0, 36000),  # relay kept on after full (trickle), then stop
        "overpower_w": (int, 2000, 50, 10000),
        "overcurrent_ma": (int, 5500, 100, 50000),
        "volt_max_dv": (int, 2700, 1000, 5000),
        "volt_min_dv": (int, 1000, 0, 3000),
        "volt_s": (int, 5, 1, 600),
        "overtemp_c": (int, 80, 30, 150),  # 0.. never off: vendors' false trips get a filter instead
        "temp_check_s": (int, 30, 1, 600),
        "temp_trips": (int, 2, 1, 20),  # consecutive checks over the limit before stopping all
        "temp_hyst_c": (int, 10, 1, 50),
        "cap_w": (int, 8700, 100, 100000),  # hard pile cap: shed newest sessions above it
        "admit_w": (int, 7800, 100, 100000),  # refuse starts above; resume shed sessions below
        "max_session_s": (int, 36000, 60, 172800),
        "checkpoint_s": (int, 60, 5, 3600),
        "resume_after_power_loss": (bool, True, None, None),
        "resume_load_s": (int, 60, 5, 3600),  # a resumed session must see load within this
        "reserve_s": (int, 900, 10, 86400),  # default hold of a reservation
        "journal": (str, "/data/charging.jnl", 1, 64),
        "compact_bytes": (int, 16384, 2048, 1048576),
    },
    "tariff": {
        "mode": (str, "time", 4, 6),  # time | tiers | energy
        "unit_fen": (int, 100, 1, 100000),  # price of one unit (1 yuan)
        "unit_min": (int, 240, 1, 100000),  # mode time: minutes per unit (1 yuan per 4 h)
        # mode tiers: [[up_to_w, minutes per unit], ...] ascending; the last covers above too
        "tiers": (list, [[200, 240], [400, 180], [600, 120], [800, 60]], 1, 8),
        "settle_s": (int, 300, 0, 3600),  # billing power settled after this, then re-checked
        "fen_per_kwh": (int, 100, 0, 100000),  # mode energy
        "start_fee_fen": (int, 0, 0, 100000),
    },
    "meter": {
        "chip": (str, "hlw8032", 6, 7),  # hlw8032 | bl0942 | bl0939 (2 ports per chip)
        "baud": (int, 4800, 1200, 115200),
        "poll_ms": (int, 200, 50, 5000),  # BL09xx: request interval (HLW8032 pushes by itself)
        "hlw_kv_milli": (int, 1880, 1, 100000),  # voltage divider coefficient x1000
        "hlw_ki_milli": (int, 1000, 1, 100000),  # current (shunt) coefficient x1000
        "bl_v_ref": (int, 15873, 1, 10000000),  # counts per volt
        "bl_i_ref": (int, 251213, 1, 10000000),  # counts per amp
        "bl_p_ref": (int, 596, 1, 10000000),  # counts per watt
        "bl_e_ref": (int, 3305, 1, 10000000),  # CF pulses per kWh
        "ntc_r0": (int, 10000, 100, 1000000),  # NTC ohms at 25 C
        "ntc_beta": (int, 3950, 1000, 10000),
        "ntc_rfix": (int, 10000, 100, 1000000),  # divider resistor to Vcc
    },
    # service port (firmware/proto/maint, docs/charging.md "Service port"): the maintenance
    # header's spare UART; tx/rx are a PCB assembly option (-1: not wired, port not opened)
    "service": {
        "enabled": (bool, True, None, None),
        "uart": (int, 1, 1, 2),
        "baud": (int, 115200, 1200, 921600),
        "tx": (int, -1, -1, 48),
        "rx": (int, -1, -1, 48),
    },
    # DNY (AP3000) back end (firmware/proto/dny, docs/dny.md): used when backend.protocol is
    # "dny", at backend.host:port. Times are the vendor guide's defaults; *_ms so tests shrink them.
    "dny": {
        "number": (int, 0, 0, 16777215),  # the number printed under the QR code (low 24 bits of the physical id)
        "device_type": (int, 0, 0, 255),  # 0x20 register's device type; 0: by class (docs/dny.md)
        "host_type": (int, 0x55, 0, 255),  # 0x11's host type (real sockets send 0x55)
        "iccid": (str, "", 0, 20),  # fixed preamble (Wi-Fi piles); "" = the modem's SIM, none without one
        "heartbeat_s": (int, 180, 1, 65535),  # 0x21 period (0x83 sets it); register retried as often
        "answer_ms": (int, 15000, 10, 120000),  # no answer this long: one resend with the same id
        "gap_ms": (int, 500, 0, 10000),  # at least this long between two frames we send
        "link_idle_ms": (int, 30000, 10, 600000),  # "link" after this long without traffic
        "time_s": (int, 43200, 10, 604800),  # 0x22 every 12 h once answered...
        "retry_s": (int, 180, 1, 86400),  # ...every 3 min until then
        "host_s": (int, 1800, 10, 86400),  # 0x11 host heartbeat
        "report_s": (int, 300, 1, 3600),  # 0x06 power report per charging port
        "settle_delay_ms": (int, 2000, 0, 60000),  # 0x03 this long after the output is cut...
        "settle_retry_s": (int, 1800, 1, 86400),  # ...again after this while unanswered...
        "settle_next_s": (int, 60, 0, 3600),  # ...the next queued one this long after an answer
        "backoff_min_ms": (int, 2000, 10, 3600000),  # reconnect backoff, doubling, minus jitter
        "backoff_max_ms": (int, 300000, 10, 86400000),
        "connect_timeout_ms": (int, 10000, 10, 120000),
        "port_limit_w": (int, 2000, 100, 10000),  # a port's hardware limit: 0x85/0x82 overload above it refused
        "push_idle_s": (int, 600, 1, 86400),  # an in-band update silent this long is paused (resumable)
    },
    # the app's supervisor (firmware/supervisor.py, docs/architecture.md "Supervision")
    "supervisor": {
        "max_crashes": (int, 5, 2, 100),  # crashes of any task within crash_window_s: safe state + reboot
        "crash_window_s": (int, 600, 10, 86400),
        "backoff_ms": (int, 1000, 10, 600000),  # a crashed task restarts after this, doubling...
        "backoff_max_ms": (int, 60000, 10, 3600000),  # ...up to this
    },
    # OCPP 1.6J charge point (firmware/proto/ocpp, docs/ocpp.md): runs when backend.protocol is ocpp. The
    # OCPP configuration keys live here too (ChangeConfiguration writes them through cfgstore;
    # MeterValueSampleInterval is charging.sample_s, ConnectionTimeOut charging.noload_s)
    "ocpp": {
        "url": (str, "", 0, 256),  # CSMS endpoint ws://host[:port]/path or wss://...; "" = OCPP off
        "url_tls": (str, "", 0, 256),  # wss:// endpoint for security profiles 2/3 when url is ws://
        "id": (str, "", 0, 48),  # charge point id (URL = url + "/" + percent-encoded id); "" = pile.id
        "profile": (int, 0, 0, 3),  # SecurityProfile: 0 ws, 1 ws + Basic, 2 wss + Basic, 3 wss + client cert
        "auth_key": (str, "", 0, 40),  # AuthorizationKey as hex (16-20 bytes); write-only, never logged
        "ca": (str, "/config/ocpp_ca.der", 0, 64),  # CSMS root certificate (DER or PEM) for wss://
        "cert": (str, "/config/ocpp_cp.der", 0, 64),  # profile 3: the charge point's certificate...
        "cert_key": (str, "/config/ocpp_cp.key", 0, 64),  # ...and its private key
        "vendor": (str, "uPile", 1, 20),  # BootNotification chargePointVendor
        "model": (str, "", 0, 20),  # chargePointModel; "" = pile.product
        "serial": (str, "", 0, 25),  # chargePointSerialNumber; "" = the charge point id
        "local_tag": (str, "LOCAL", 1, 20),  # idTag of sessions started without one (service port)
        "call_timeout_s": (int, 30, 1, 600),  # MessageTimeout: a CALL unanswered this long timed out
        "backoff_min_s": (int, 2, 1, 3600),  # reconnect backoff (doubling, with jitter)
        "backoff_max_s": (int, 300, 1, 86400),
        "queue_kb": (int, 24, 4, 512),  # transaction queue: live journal bytes on flash (docs/ocpp.md)
        "budget_ttl_s": (int, 120, 5, 3600),  # a DataTransfer budget waits this long for its RemoteStart
        "heartbeat_s": (int, 300, 0, 86400),  # HeartbeatInterval (the CSMS's boot answer sets it too)
        "ping_s": (int, 0, 0, 86400),  # WebSocketPingInterval; 0 = no pings
        "aligned_s": (int, 0, 0, 86400),  # ClockAlignedDataInterval
        "sampled_data": (str, "Energy.Active.Import.Register", 0, 200),  # MeterValuesSampledData
        "aligned_data": (str, "Energy.Active.Import.Register", 0, 200),  # MeterValuesAlignedData
        "stop_sampled": (str, "", 0, 200),  # StopTxnSampledData
        "stop_aligned": (str, "", 0, 200),  # StopTxnAlignedData
        "tx_attempts": (int, 3, 0, 100),  # TransactionMessageAttempts
        "tx_retry_s": (int, 60, 0, 86400),  # TransactionMessageRetryInterval
        "local_auth_offline": (bool, True, None, None),  # LocalAuthorizeOffline
        "local_pre_auth": (bool, False, None, None),  # LocalPreAuthorize
        "allow_offline_unknown": (bool, False, None, None),  # AllowOfflineTxForUnknownId
        "auth_cache": (bool, True, None, None),  # AuthorizationCacheEnabled
        "local_list": (bool, True, None, None),  # LocalAuthListEnabled (the list: /data/ocpp/llist.dat)
        "authorize_remote": (bool, False, None, None),  # AuthorizeRemoteTxRequests
        "stop_on_invalid": (bool, True, None, None),  # StopTransactionOnInvalidId
        "reset_retries": (int, 1, 0, 10),  # ResetRetries
        "phase_rotation": (str, "0.NotApplicable", 0, 200),  # ConnectorPhaseRotation (single-phase sockets)
        "cpo_name": (str, "", 0, 50),  # CpoName
    },
    # the pile's front (owner: front; firmware/front/, docs/front.md): only what an operator
    # chooses; the parts' addresses, timings and thresholds are constants of the board and of
    # the modules (the whole config sits in the heap at boot: every key costs there)
    "front": {
        "enabled": (bool, False, None, None),  # an assembly option: the board's pin map has its bus
        "lang": (str, "zh", 2, 2),  # voice: zh | en (the display shows codes and numbers)
        "quiet": (str, "22:00-07:00", 0, 11),  # HH:MM-HH:MM China time (UTC+8); "" = never
        "quiet_volume": (int, 3, 0, 10),  # voice volume at night (10 by day); 0: silent
        "card_check": (str, "local", 5, 7),  # local (the card list) | backend (card.ask; the list if no answer)
        "code_secret": (str, "", 0, 64),  # hex key of derived start codes (until full); "" = issued codes only
        "coin_fen": (int, 100, 1, 100000),  # value of one pulse of the coin acceptor
        "alarms": (int, 15, 0, 31),  # fitted: 1 smoke, 2 water, 4 door, 8 smoke self-test; 16: the door stops charging
        "loadcheck": (str, "stop", 3, 6),  # malicious loads: stop | report | off (front or not)
    },
    # ota (owner: OTA). Release directory URL: <url>/manifest.dsse.json, bundle.bin | image.bin.
    "ota": {
        "url": (str, "", 0, 256),  # "" = no periodic checks (commands may still give a URL)
        "allow_http": (bool, False, None, None),  # plain http only when explicitly allowed
        "ca": (str, "/config/ota_ca.der", 0, 64),  # CA certificate (DER or PEM) for https
        "keys": (str, "/config/keys.json", 1, 64),  # trusted release keys {keyid: hex pubkey}
        "check_s": (int, 21600, 5, 604800),  # periodic check every 6 h...
        "jitter_s": (int, 1800, 0, 86400),  # ...plus or minus 30 min, so a fleet spreads out
        "first_check_s": (int, 120, 0, 86400),  # first check after boot (random within this)
        "retries": (int, 5, 0, 50),  # per check, with exponential backoff and jitter
        "backoff_s": (int, 10, 1, 3600),
        "backoff_max_s": (int, 600, 1, 86400),
        "timeout_s": (int, 20, 1, 300),  # connect and per-read timeout
        "max_envelope": (int, 4096, 1024, 1048576),  # size cap of the signed manifest (fixed-size: the file list is index.txt)
        "max_files": (int, 0, 0, 4096),  # files per app release; 0 = manifest.py's default
        "trials": (int, 3, 1, 20),  # trial boots of a new slot before rollback
        "health_s": (int, 60, 1, 86400),  # healthy: back end reached and every task alive this long...
        "health_timeout_s": (int, 600, 10, 86400),  # ...within this, or the trial failed (firmware/health.py)
        "trial_wdt_s": (int, 30, 2, 3600),  # watchdog during a trial: a hang becomes a reset
        "window": (str, "", 0, 11),  # maintenance window "HH:MM-HH:MM" (local): installs even if busy
        "idle_poll_s": (int, 10, 1, 3600),  # how often a downloaded release waits for idle ports
    },
}


# The semantic rules of each section, owned by its domain: (section, module, function).
# fn(cfg) gets the complete config (schema-checked, defaults filled in) and returns None or
# "section.key: what is wrong" (never a secret value). Imported by name when validate() runs
# and dropped again when the next module's turn comes (a module's entries stand together),
# so the device heap holds one rules module at a time.
RULES = (
    ("net", "firmware.net.rules", "check_net"),
    ("backend", "firmware.net.rules", "check_backend"),
    ("wifi", "firmware.net.rules", "check_wifi"),
    ("modem", "firmware.net.rules", "check_modem"),
    ("budget", "firmware.net.rules", "check_budget"),
    ("charging", "firmware.charging.rules", "check_charging"),
    ("tariff", "firmware.charging.tariff", "check"),
    ("meter", "firmware.meter", "check"),
    ("ota", "firmware.ota.policy", "check"),
    ("supervisor", "firmware.apprules", "check_supervisor"),
    ("backend", "firmware.apprules", "check_protocol"),
    ("pile", "firmware.board.rules", "check_pile"),
    ("service", "firmware.board.rules", "check_service"),
    ("front", "firmware.front.rules", "check_front"),
    ("dny", "firmware.proto.dny.rules", "check_dny"),
    # across sections: the ports fit the pin map, every GPIO and UART exists and is used once
    ("board", "firmware.board.rules", "check_board"),
    ("ocpp", "firmware.proto.ocpp.rules", "check_ocpp"),
)

# key names whose values are never shown in a message (they reach logs and screens)
SECRET_WORDS = ("key", "pass", "psk", "secret", "token", "pin", "auth", "cred")
_TYPES = {int: "an integer", str: "a string", bool: "true or false", list: "a list", dict: "an object"}


class ConfigError(ValueError):
    """args[0]: one line naming the key and what is wrong with it; .key: "section.key" (or
    "" when the whole file is at fault); .unknown: True for a key this firmware does not have
    (a remote protocol answers NotSupported to those, Rejected to the rest)."""

    def __init__(self, msg, key="", unknown=False):
        super().__init__(msg)
        self.key = key
        self.unknown = unknown


def _rule_error(msg):
    # "wifi.networks[0].key: ..." -> key "wifi.networks"
    key = msg.split(":", 1)[0].split("[", 1)[0]
    return ConfigError(msg, key if "." in key and " " not in key else "")


def is_secret(key):
    k = key.lower()
    for w in SECRET_WORDS:
        if w in k:
            return True
    return False


def describe(val, secret=False):
    """A value as a message shows it, the same under MicroPython and CPython (no dict or
    list reprs, whose order and spacing differ; JSON words for JSON values)."""
    if val is None:
        return "null"
    if val is True or val is False:
        return "true" if val else "false"
    if isinstance(val, dict):
        return "an object"
    if isinstance(val, list):
        return "a list"
    if secret:
        return "a string" if isinstance(val, str) else "a number"
    if isinstance(val, int):
        return "%d" % val
    return repr(val)


def defaults():
    return {sec: {k: v[1] for k, v in keys.items()} for sec, keys in SCHEMA.items()}


def _check(sec, key, val):
    typ, _, lo, hi = SCHEMA[sec][key]
    name = sec + "." + key
    if (typ is int and (type(val) is bool or not isinstance(val, int))) or not isinstance(val, typ):
        raise ConfigError("%s: expected %s, got %s" % (name, _TYPES[typ], describe(val, is_secret(key))), name)
    if typ is int:
        if lo is not None and val < lo:
            raise ConfigError("%s: %d is below %d" % (name, val, lo), name)
        if hi is not None and val > hi:
            raise ConfigError("%s: %d is above %d" % (name, val, hi), name)
    elif typ is str or typ is list:
        n, what = len(val), "characters" if typ is str else "entries"
        if lo is not None and n < lo:
            raise ConfigError("%s: %d %s, at least %d" % (name, n, what, lo), name)
        if hi is not None and n > hi:
            raise ConfigError("%s: %d %s, at most %d" % (name, n, what, hi), name)


def _schema(cfg, out):
    """Type and range of every key of `cfg` into `out` (a complete config); unknown rejected."""
    if not isinstance(cfg, dict):
        raise ConfigError("config: expected an object, got %s" % describe(cfg))
    for sec, vals in cfg.items():
        if sec not in SCHEMA:
            raise ConfigError("unknown section %s" % describe(sec), str(sec), True)
        if not isinstance(vals, dict):
            raise ConfigError("%s: expected an object, got %s" % (sec, describe(vals)), sec)
        for key, val in vals.items():
            if key not in SCHEMA[sec]:
                raise ConfigError("unknown key %s.%s" % (sec, key), sec + "." + key, True)
            _check(sec, key, val)
            out[sec][key] = val


def forget(names):
    """Drop modules from the heap until they are imported again (unbound from their package)."""
    import sys

    for mod in names:
        del sys.modules[mod]
        i = mod.rfind(".")  # unbound from the parent package too, which keeps a reference
        parent, leaf = mod[:i], mod[i + 1:]
        if i > 0 and parent in sys.modules and hasattr(sys.modules[parent], leaf):
            delattr(sys.modules[parent], leaf)


def rules(cfg):
    """Run every section's rules on a complete config; raise ConfigError at the first fault.
    Modules imported for it are dropped again (the rules run once per boot or provisioning)."""
    import sys

    cur, before = None, None
    try:
        for _, mod, fn in RULES:
            if mod != cur:
                if before is not None:
                    forget(set(sys.modules) - before)
                cur, before = mod, set(sys.modules)
                __import__(mod)
            err = getattr(sys.modules[mod], fn)(cfg)
            if err:
                raise _rule_error(err)
    finally:
        if before is not None:
            forget(set(sys.modules) - before)


def validate(cfg):
    """Return a complete config (defaults filled in) or raise ConfigError; unknown keys rejected."""
    out = defaults()
    _schema(cfg, out)
    rules(out)
    return out


PATH = "/config/pile.json"


def read(path=PATH):
    """The config as stored in `path` (only the keys it sets), None when there is no file.
    Raises ConfigError when the file is damaged or not a JSON object. `upile provision` writes
    it through fsatomic (framed, CRC-checked, replaced by rename); a plain JSON file (written
    by hand over mpremote) is read as it is."""
    import json

    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    if raw[:4] == b"UPA1":
        import fsatomic

        try:
            raw = fsatomic.read(path)
        except fsatomic.Corrupt as e:
            raise ConfigError("%s is damaged: %s" % (path, e.args[0]))
    try:
        stored = json.loads(raw)
    except ValueError:
        raise ConfigError("%s is not valid JSON" % path)
    if not isinstance(stored, dict):
        raise ConfigError("%s: expected an object, got %s" % (path, describe(stored)))
    return stored


def load(path=PATH):
    """Config from flash, validated; defaults when absent. A bad file raises ConfigError
    (firmware/cfgguard.py decides what the pile runs with then)."""
    stored = read(path)
    return defaults() if stored is None else validate(stored)
