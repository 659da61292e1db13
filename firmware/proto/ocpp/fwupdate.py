"""SignedUpdateFirmware (whitepaper L01; docs/ocpp.md "Part 2"): the signing certificate is
checked against the installed ManufacturerRootCertificates before the answer (no
intermediates), then fw.py carries the request out through the OTA engine. Imported for the
CALL and dropped after it (x509 and der are ~21 KB of bytecode)."""
import sys


def _key(cert):
    k = cert["key"]
    if k is None:
        return None
    if k[0] == "rsa":
        return ["rsa", "%x" % k[1], k[2]]
    return ["ec", "%x" % k[1], "%x" % k[2]]


def _check_cert(cp, text):
    """The signing certificate's key (fw.py's form) or raises der.PKIError."""
    import der
    import pem
    import x509

    from firmware.proto.ocpp import certs

    leaf = None
    for d in pem.blocks(text):
        leaf = x509.parse(d)
        break
    if leaf is None:
        raise der.PKIError("bad_pem", "no CERTIFICATE block")
    roots = [x509.parse(d) for d in certs.ders("M", cp.data + "/certs")]
    if not roots:
        raise der.PKIError("no_root", "no ManufacturerRootCertificate installed")
    x509.check_issued_by_any(leaf, roots, cp.station.bus.now())
    x509.check_usage(leaf, x509.KU_DIGITAL_SIGNATURE, x509.EKU_CODE_SIGNING)
    key = _key(leaf)
    if key is None:
        raise der.PKIError("unsupported_key", leaf.get("key_error") or "")
    return key


def signed_update(cp, p):
    fw = p["firmware"]
    rid = p["requestId"]
    import der

    try:
        key = _check_cert(cp, fw["signingCertificate"])
    except der.PKIError as e:  # the certificate is refused
        why = "%s: %s" % (e.reason, e.detail)
        cp.security("InvalidFirmwareSigningCertificate", why[:255])
        return {"status": "InvalidCertificate"}
    finally:
        for m in ("x509", "der", "pem", "firmware.proto.ocpp.certs"):
            sys.modules.pop(m, None)
    cur = cp.fw.active()
    status = "Accepted"
    if cur is not None:
        # a request that has not reached the OTA engine yet (scheduled, or waiting for a
        # retry) is cancelled; one the engine is carrying out is not
        if cur.get("ph") in (None, "DownloadScheduled") or (cp.fw._task is not None and not _ota_busy(cp)):
            status = "AcceptedCanceled"
        else:
            return {"status": "Rejected"}
    elif _ota_busy(cp) or cp.station.update_status().get("phase") == "off":
        return {"status": "Rejected"}  # a periodic check or a push runs (try later), or no OTA
    from firmware.proto.ocpp import dt

    st = {"rid": rid, "url": fw["location"], "sig": fw["signature"], "key": key,
          "retries": p.get("retries", 0), "interval": p.get("retryInterval", 30),
          "retrieve": dt.unix(fw["retrieveDateTime"])}
    if fw.get("installDateTime"):
        st["install"] = dt.unix(fw["installDateTime"])
    cp.fw.begin(st)

    async def after():
        cp.fw.after()

    return {"status": status}, after


def _ota_busy(cp):
    return cp.station.update_status().get("phase") not in ("idle", "off")
