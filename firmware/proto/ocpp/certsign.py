"""The pile's own key pair for security profile 3 (whitepaper A02/A03; docs/ocpp.md "Part 2:
the charge point certificate"): on ExtendedTriggerMessage(SignChargePointCertificate) a new
EC P-256 key from the hardware RNG (lib/eckey), a PKCS#10 CSR (O = CpoName, CN = the serial;
lib/csr) sent as SignCertificate; CertificateSigned's chain checked (its leaf carries our
key, each link issued by the next, the last by an installed CentralSystemRootCertificate or
the configured CSMS root) and kept until its notBefore, then it replaces ocpp.cert /
ocpp.cert_key (the old pair kept beside them as .old). The private key never leaves the pile
and lives under /data and /config, outside the app slots (updates keep it). Every file is
written under a temporary name and renamed: a power cut leaves the old or the new one.
Imported when needed, then dropped."""
import os

import log
from firmware.proto.ocpp import cpcert
from firmware.proto.ocpp.conn import read_file as _read

_log = log.get("ocpp")
_OLD_S = 30 * 86400  # the previous certificate is kept a month
_RENEW_S = 30 * 86400  # renewed a month before it expires [W A02/A03]


def _paths(cp):
    d = cp.data
    return d + "/cp_next.key", d + "/cp_next.der", d + "/cp_next.json"


def _put(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)


def request(cp):
    """New key, CSR: the SignCertificate payload, or None when CpoName is not set (the CSR's
    O must be it)."""
    import csr
    import eckey

    cpo = cp.o["cpo_name"]
    if not cpo:
        return None
    d = eckey.generate()
    key, _, _ = _paths(cp)
    _put(key, d)  # before the CSR leaves: the answer may come after a power cut
    pem = csr.build(d, cpo, (cp.o["serial"] or cp.id)[:64])
    return {"csr": pem.decode() if isinstance(pem, bytes) else pem}


def renew_due(cp):
    """The client certificate (ocpp.cert) ends within a month and no new one waits for its
    notBefore: True (renew now), False, or None while the clock is unknown."""
    now = cp.station.bus.now()
    if now is None:
        return None
    raw = _read(cp.o["cert"]) if cp.o["cert"] else None
    if not raw or _read(_paths(cp)[2]) is not None:
        return False
    import der
    import x509

    try:
        if raw[:1] != b"\x30":  # PEM
            import pem

            raw = bytes(next(pem.blocks(raw)))
        left = x509.parse(raw)["not_after"] - now
    except (der.PKIError, StopIteration, ValueError) as e:
        _log.warn("charge point certificate unreadable, not renewed: %r", e)
        return False
    if left > _RENEW_S:
        return False
    if not cp.o["cpo_name"]:
        _log.warn("charge point certificate ends in %d days; CpoName unset: no CSR", left // 86400)
        return False
    _log.info("charge point certificate ends in %d days: renewing", left // 86400)
    return True


def _trusted(cp):
    """DER of the CSMS roots the pile trusts: the handshake's (ocpp.ca and installed ones)."""
    from firmware.proto.ocpp import certs

    out = []
    for ca in certs.handshake_roots(cp) or ():
        if not ca:
            continue  # an empty file
        if ca[:1] != b"\x30":  # PEM
            import pem

            ca = bytes(next(pem.blocks(ca)))
        out.append(ca)
    return out


def signed(cp, p):
    """CertificateSigned: Accepted (kept; used from its notBefore) or Rejected."""
    import der
    import eckey
    import x509

    key, nxt, meta = _paths(cp)
    d = _read(key)
    now = cp.station.bus.now()
    try:
        if d is None:
            raise der.PKIError("no_key", "no key pair waiting for a certificate")
        chain = x509.load_pem(p["certificateChain"])
        leaf = chain[0]
        if leaf["key"] != ("ec",) + tuple(eckey.public_point(d)):
            raise der.PKIError("wrong_key", "the certificate is not for the key this pile made")
        if now is not None and now > leaf["not_after"]:
            raise der.PKIError("expired", "notAfter passed")
        for i in range(len(chain) - 1):
            x509.check_issued(chain[i], chain[i + 1], now)
        roots = [x509.parse(r) for r in _trusted(cp)]
        top = chain[-1]
        if not any(r["subject"] == top["subject"] and r["key"] == top["key"] for r in roots):
            x509.check_issued_by_any(top, roots, now)
        der_leaf = bytes(next(__import__("pem").blocks(p["certificateChain"])))
    except der.PKIError as e:
        cp.security("InvalidChargePointCertificate", "%s: %s" % (e.reason, e.detail))
        return {"status": "Rejected"}
    _put(nxt, der_leaf)
    import json

    _put(meta, json.dumps({"not_before": leaf["not_before"]}).encode())
    _log.info("charge point certificate received (serial %s), used from %d", x509.serial_hex(leaf), leaf["not_before"])
    return {"status": "Accepted"}


def due(cp):
    """Seconds until a received certificate may be used (0: now), or None when none waits."""
    _, _, meta = _paths(cp)
    raw = _read(meta)
    if raw is None:
        return None
    import json

    nb = json.loads(raw)["not_before"]
    now = cp.station.bus.now()
    return 0 if now is not None and now >= nb else max(1, nb - (now or 0)) if now is not None else 60


def switch(cp):
    """The waiting certificate becomes ocpp.cert / ocpp.cert_key (DER; the old pair as .old).
    True when it switched."""
    import eckey

    key, nxt, meta = _paths(cp)
    d, c = _read(key), _read(nxt)
    if d is None or c is None:
        return False
    o = cp.o
    for path in (o["cert"], o["cert_key"]):
        old = _read(path)
        if old is not None:
            _put(path + ".old", old)
    _put(o["cert_key"], eckey.private_der(d))
    _put(o["cert"], c)
    for path in (meta, nxt, key):  # meta first: a cut after it switches again, harmlessly
        try:
            os.remove(path)
        except OSError:
            pass
    _put(cp.data + "/cp_old.json", b'{"since": %d}' % (cp.station.bus.now() or 0))
    _log.info("charge point certificate switched (the old one kept a month)")
    return True


def sweep(cp):
    """Forget the previous certificate a month after the switch."""
    raw = _read(cp.data + "/cp_old.json")
    now = cp.station.bus.now()
    if raw is None or now is None:
        return
    import json

    since = json.loads(raw)["since"]
    if since and now - since > _OLD_S:
        for path in (cp.o["cert"] + ".old", cp.o["cert_key"] + ".old", cp.data + "/cp_old.json"):
            try:
                os.remove(path)
            except OSError:
                pass


def certificate_signed(cp, p):
    r = signed(cp, p)
    if r["status"] != "Accepted":
        return r

    async def after():
        cpcert.start_switch(cp)

    return r, after
