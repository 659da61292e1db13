"""The installed root certificates of the whitepaper (ManufacturerRootCertificate "M",
CentralSystemRootCertificate "C"): one DER file each, <kind><n>.der, under the charge
point's data folder (/data/ocpp/certs: outside the app slots, an update keeps them), at most
MAX of each kind. InstallCertificate, GetInstalledCertificateIds and DeleteCertificate
(whitepaper 6.1, M03-M05; docs/ocpp.md "Part 2: certificates"). A file is written under a
temporary name and renamed, so a power cut leaves the old set or the new one, never a torn
certificate. The TLS handshake trusts ocpp.ca and every installed "C" root (csms_roots).
Imported when a CALL or a TLS connect needs it, then dropped (x509 too)."""
import os
import sys

import fsatomic

MAX = 4  # roots of each kind
_KIND = {"ManufacturerRootCertificate": "M", "CentralSystemRootCertificate": "C"}


def _dir(cp):
    return cp.data + "/certs"


def names(kind, d):
    """File names of the installed roots of `kind` ("M" or "C"), sorted."""
    try:
        return sorted(n for n in os.listdir(d) if n[0] == kind and n.endswith(".der"))
    except OSError:
        return []


def ders(kind, d):
    """Yields the DER of each installed root of `kind`."""
    for n in names(kind, d):
        with open(d + "/" + n, "rb") as f:
            yield f.read()


def csms_roots(o, d):
    """The CSMS roots a TLS handshake trusts (conn.py): ocpp.ca when it is there, then each
    installed CentralSystemRootCertificate in folder d; None when there is none. A generator
    of their bytes: the heap holds one (~0.5-1.5 KB) at a time while mbedTLS copies each into
    its chain (lib/netconn.tls_context)."""
    have = names("C", d)
    ca = o["ca"]
    if not fsatomic.exists(ca):
        ca = None
    if ca is None and not have:
        return None
    return _roots(ca, d, have)


def handshake_roots(cp):
    """csms_roots of this charge point (conn.py, the log upload)."""
    return csms_roots(cp.o, _dir(cp))


def has_csms_root(cp):
    """ocpp.ca or an installed CSMS root is there (what profiles 2 and 3 need)."""
    return handshake_roots(cp) is not None


def _roots(ca, d, have):
    for path in ([ca] if ca else []) + [d + "/" + n for n in have]:
        with open(path, "rb") as f:
            yield f.read()


def _tls_takes(blob):
    """mbedTLS parses the root (what the handshake will load it with): an error text or None.
    Checked at install so a root our x509 takes but mbedTLS refuses cannot later stop every
    connection."""
    import tls

    try:
        tls.SSLContext(tls.PROTOCOL_TLS_CLIENT).load_verify_locations(blob)
    except (ValueError, OSError) as e:
        return str(e)
    return None


def _drop():
    for m in ("x509", "der", "pem"):
        sys.modules.pop(m, None)


def install(cp, p):
    import der
    import pem
    import x509

    kind = _KIND[p["certificateType"]]
    d = _dir(cp)
    try:
        blocks = [bytes(b) for b in pem.blocks(p["certificate"])]
        if len(blocks) != 1:
            raise der.PKIError("bad_pem", "%d certificates, expected one root" % len(blocks))
        c = x509.parse(blocks[0])
        if not c["ca"] or c["issuer"] != c["subject"]:
            raise der.PKIError("not_root", "not a self-issued CA certificate")
        if c["key"] is None:
            raise der.PKIError("unsupported_key", c.get("key_error") or "")
        now = cp.station.bus.now()
        if now is not None and now > c["not_after"]:
            raise der.PKIError("expired", "notAfter passed")
        if kind == "C":
            why = _tls_takes(blocks[0])
            if why is not None:
                raise der.PKIError("tls", "mbedTLS refuses it: %s" % why)
    except der.PKIError as e:
        if kind == "C":
            cp.security("InvalidCentralSystemCertificate", "InstallCertificate: %s: %s" % (e.reason, e.detail))
        return {"status": "Rejected"}
    finally:
        _drop()
    have = names(kind, d)
    for n in have:
        with open(d + "/" + n, "rb") as f:
            if f.read() == blocks[0]:
                return {"status": "Accepted"}  # already installed
    if len(have) >= MAX:
        return {"status": "Rejected"}  # the store is full: DeleteCertificate first
    used = set(have)
    n = 0
    while "%s%d.der" % (kind, n) in used:
        n += 1
    path = "%s/%s%d.der" % (d, kind, n)
    try:
        import fsatomic

        fsatomic.mkdirs(d)
        with open(path + ".tmp", "wb") as f:
            f.write(blocks[0])
        os.rename(path + ".tmp", path)
    except OSError as e:  # a full flash
        cp.security("ReconfigurationOfSecurityParameters", "InstallCertificate failed: %r" % e)
        return {"status": "Failed"}
    cp.security("ReconfigurationOfSecurityParameters", "%s installed as %s%d" % (p["certificateType"], kind, n))
    return {"status": "Accepted"}


def _hash(c, issuer):
    """CertificateHashData (RFC 6960 CertID with SHA-256; whitepaper 6.1)."""
    import hashlib

    import x509

    return {"hashAlgorithm": "SHA256", "issuerNameHash": hashlib.sha256(c["issuer"]).digest().hex(),
            "issuerKeyHash": hashlib.sha256(issuer["key_bits"]).digest().hex(), "serialNumber": x509.serial_hex(c)}


def _each(cp, kind):
    """(file name, hash data) of each installed root of kind."""
    import x509

    d = _dir(cp)
    out = []
    for n in names(kind, d):
        with open(d + "/" + n, "rb") as f:
            c = x509.parse(f.read())
        out.append((n, _hash(c, c)))  # a root is its own issuer
    return out


def get_ids(cp, p):
    try:
        got = [h for _, h in _each(cp, _KIND[p["certificateType"]])]
    finally:
        _drop()
    if not got:
        return {"status": "NotFound"}
    return {"status": "Accepted", "certificateHashData": got}


def _serial(s):
    return s.lower().lstrip("0") or "0"


def _last_root(cp):
    """The connection is TLS and ocpp.ca is not there: an installed root is all it trusts."""
    c = cp.conn
    return c.url(c.profile).startswith("wss://") and not fsatomic.exists(cp.o["ca"])


def delete(cp, p):
    want = p["certificateHashData"]
    d = _dir(cp)
    try:
        key = (want["issuerNameHash"].lower(), want["issuerKeyHash"].lower(), _serial(want["serialNumber"]))
        for kind in ("M", "C"):
            for n, h in _each(cp, kind):
                if (h["issuerNameHash"], h["issuerKeyHash"], h["serialNumber"]) == key:
                    if kind == "C" and len(names("C", d)) == 1 and _last_root(cp):
                        return {"status": "Failed"}  # the last CSMS root while TLS runs on it
                    try:
                        os.remove(d + "/" + n)
                    except OSError:
                        return {"status": "Failed"}
                    cp.security("ReconfigurationOfSecurityParameters", "root %s deleted" % n)
                    return {"status": "Accepted"}
    finally:
        _drop()
    return {"status": "NotFound"}
