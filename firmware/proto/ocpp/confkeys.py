"""The OCPP configuration keys: GetConfiguration and ChangeConfiguration (OCPP 1.6 5.3, 5.8,
chapter 9; errata; security whitepaper chapter 7). docs/ocpp.md "Configuration keys".

Every Core key is here, with its access: R (read-only), RW, W (write-only: AuthorizationKey,
never shown, never logged). A writable key is a key of the device config (firmware/config.py:
the `ocpp` section, and charging.sample_s / charging.noload_s for MeterValueSampleInterval /
ConnectionTimeOut), so a change is validated and written atomically by the command interface
(station.change_config -> firmware/cfgstore.py) and applies at once: the answer is Accepted,
Rejected (read-only, a bad value or range, a measurand the pile does not meter, a security
rule), or NotSupported (a key the pile does not have). RebootRequired is never needed.
A new AuthorizationKey or SecurityProfile is tried on a new connection at once and kept on
flash only when the CSMS accepted it (conn.py); SecurityProfile only rises.
"""
from micropython import const

import log
from firmware.proto.ocpp import rules
from firmware.proto.ocpp.rpc import CallError

_log = log.get("ocpp")
MAX_KEYS = const(40)  # GetConfigurationMaxKeys: more than every key the pile has
R, RW, W = const(1), const(3), const(2)

# name, access, (section, key) or a fixed value / None (computed), type: b bool, i int >= 0,
# s text, m measurands, M measurands of StopTxn*, k AuthorizationKey, p SecurityProfile
KEYS = (
    ("AllowOfflineTxForUnknownId", RW, ("ocpp", "allow_offline_unknown"), "b"),
    ("AuthorizationCacheEnabled", RW, ("ocpp", "auth_cache"), "b"),
    ("AuthorizationKey", W, ("ocpp", "auth_key"), "k"),
    ("AuthorizeRemoteTxRequests", RW, ("ocpp", "authorize_remote"), "b"),
    ("ChargeProfileMaxStackLevel", R, "8", "i"),  # smart.MAX_STACK
    ("ChargingScheduleAllowedChargingRateUnit", R, "Current,Power", "s"),
    ("ChargingScheduleMaxPeriods", R, "24", "i"),  # smart.MAX_PERIODS
    ("ClockAlignedDataInterval", RW, ("ocpp", "aligned_s"), "i"),
    ("ConnectionTimeOut", RW, ("charging", "noload_s"), "i"),
    ("ConnectorPhaseRotation", RW, ("ocpp", "phase_rotation"), "s"),
    ("CpoName", RW, ("ocpp", "cpo_name"), "s"),
    ("GetConfigurationMaxKeys", R, "%d" % MAX_KEYS, "i"),
    ("HeartbeatInterval", RW, ("ocpp", "heartbeat_s"), "i"),
    ("LocalAuthListEnabled", RW, ("ocpp", "local_list"), "b"),
    ("LocalAuthListMaxLength", R, "1000", "i"),  # llist.MAX_LEN
    ("LocalAuthorizeOffline", RW, ("ocpp", "local_auth_offline"), "b"),
    ("LocalPreAuthorize", RW, ("ocpp", "local_pre_auth"), "b"),
    ("MaxChargingProfilesInstalled", R, "8", "i"),  # smart.MAX_PROFILES
    ("MessageTimeout", RW, ("ocpp", "call_timeout_s"), "i"),
    ("MeterValueSampleInterval", RW, ("charging", "sample_s"), "i"),
    ("MeterValuesAlignedData", RW, ("ocpp", "aligned_data"), "m"),
    ("MeterValuesSampledData", RW, ("ocpp", "sampled_data"), "m"),
    ("NumberOfConnectors", R, None, "i"),
    ("ReserveConnectorZeroSupported", R, "true", "b"),  # reserve.py holds one free port
    ("ResetRetries", RW, ("ocpp", "reset_retries"), "i"),
    ("SecurityProfile", RW, ("ocpp", "profile"), "p"),
    ("SendLocalListMaxLength", R, "100", "i"),  # llist.SEND_MAX
    ("StopTransactionOnEVSideDisconnect", R, "true", "b"),  # an unplugged bike always ends its session
    ("StopTransactionOnInvalidId", RW, ("ocpp", "stop_on_invalid"), "b"),
    ("StopTxnAlignedData", RW, ("ocpp", "stop_aligned"), "M"),
    ("StopTxnSampledData", RW, ("ocpp", "stop_sampled"), "M"),
    ("SupportedFeatureProfiles", R, "Core,Reservation,RemoteTrigger,LocalAuthListManagement,SmartCharging", "s"),
    ("TransactionMessageAttempts", RW, ("ocpp", "tx_attempts"), "i"),
    ("TransactionMessageRetryInterval", RW, ("ocpp", "tx_retry_s"), "i"),
    ("UnlockConnectorOnEVSideDisconnect", R, "false", "b"),  # no connector lock to release
    ("WebSocketPingInterval", RW, ("ocpp", "ping_s"), "i"),
)


def _find(name):
    for k in KEYS:
        if k[0] == name:
            return k
    return None


def _value(cp, k):
    where = k[2]
    if k[0] == "NumberOfConnectors":
        return "%d" % cp.station.ports()
    if k[0] == "SecurityProfile":
        return "%d" % cp.conn.profile
    if not isinstance(where, tuple):
        return where
    v = cp.cfg[where[0]][where[1]]
    if k[3] == "b":
        return "true" if v else "false"
    return "%d" % v if k[3] in "ip" else v


def _entry(cp, k):
    e = {"key": k[0], "readonly": k[1] == R}
    if k[1] != W:
        e["value"] = _value(cp, k)[:500]
    return e


def get(cp, p):
    keys = p.get("key")
    if not keys:
        return {"configurationKey": [_entry(cp, k) for k in KEYS]}
    if len(keys) > MAX_KEYS:
        raise CallError("OccurenceConstraintViolation", "more than GetConfigurationMaxKeys (%d) keys" % MAX_KEYS)
    out, unknown = [], []
    for name in keys:
        k = _find(name)
        if k is None:
            unknown.append(name)
        else:
            out.append(_entry(cp, k))
    r = {"configurationKey": out}
    if unknown:
        r["unknownKey"] = unknown
    return r


def _convert(typ, text):
    """The string value as the config's type; None when it is not one."""
    if typ == "b":
        t = text.lower()
        return True if t == "true" else False if t == "false" else None
    if typ in "ip":
        s = text.strip()
        neg = s.startswith("-")
        digits = s[1:] if neg else s
        if not digits or any(not "0" <= c <= "9" for c in digits) or len(digits) > 9:
            return None
        return -int(digits) if neg else int(digits)
    return text


def change(cp, p):
    from firmware.station import Refused

    name, text = p["key"], p["value"]
    k = _find(name)
    if k is None:
        return {"status": "NotSupported"}
    if k[1] == R:
        return {"status": "Rejected"}
    typ = k[3]
    v = _convert(typ, text)
    if v is None:
        return {"status": "Rejected"}
    sec, key = k[2]
    if typ in "mM":
        if rules.measurands(v, rules.MEASURANDS if typ == "m" else rules.STOP_MEASURANDS):
            return {"status": "Rejected"}
        v = ",".join(m.strip() for m in v.split(","))
    elif typ == "k":
        if rules.auth_key(v):
            return {"status": "Rejected"}
        if cp.conn.profile in (1, 2):
            cp.conn.switch(key=v)
            _log.info("new AuthorizationKey: reconnecting with it")
            return {"status": "Accepted"}, cp.reconnect
    elif typ == "p":
        o = dict(cp.o)
        o["auth_key"] = cp.conn.key
        if v <= cp.conn.profile or v > 3 or rules.profile_error(o, v):
            return {"status": "Rejected"}
        if v >= 2 and not cp.use("certs", "has_csms_root"):  # TLS without a root to verify the CSMS
            _log.info("SecurityProfile %d rejected: no CSMS root (ocpp.ca or installed)", v)
            return {"status": "Rejected"}
        cp.conn.switch(profile=v)
        _log.info("security profile %d -> %d: reconnecting", cp.conn.trial[2], v)
        return {"status": "Accepted"}, cp.reconnect
    try:
        cp.station.change_config({sec: {key: v}})
    except Refused as e:
        _log.info("ChangeConfiguration %s rejected: %s", name, e.args[1] if typ != "k" else "bad key")
        return {"status": "Rejected"}
    except OSError as e:
        _log.warn("ChangeConfiguration %s not written: %r", name, e)
        return {"status": "Rejected"}
    if name == "HeartbeatInterval" and v > 0:
        cp.boot.interval_s = v
    cp.wake.set()
    return {"status": "Accepted"}
