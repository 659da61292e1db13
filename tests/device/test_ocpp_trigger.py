# heapsize: 640K
# timeout: 120
# ExtendedTriggerMessage in-process (ocppbench): answered first, then the message; the signed
# firmware and log statuses (Idle when idle, the running request's otherwise); a connector
# that does not exist; MeterValues of every port with the context Trigger.
from ocppbench import Bench


async def _trigger(b, msg, c=None):
    p = {"requestedMessage": msg}
    if c is not None:
        p["connectorId"] = c
    r = b.cp.handlers["ExtendedTriggerMessage"](p)
    if isinstance(r, tuple):
        r, after = r
        await after()
    await b.settle(50)
    return r["status"]


async def test_each_message_it_names():
    b = Bench()
    try:
        await b.booted()
        n_boot, n_hb = len(b.calls("BootNotification")), len(b.calls("Heartbeat"))
        n_st = len(b.calls("StatusNotification"))
        assert await _trigger(b, "BootNotification") == "Accepted"
        await b.until(lambda: len(b.calls("BootNotification")) == n_boot + 1)
        assert await _trigger(b, "Heartbeat") == "Accepted"
        await b.until(lambda: len(b.calls("Heartbeat")) == n_hb + 1)
        assert await _trigger(b, "StatusNotification", 2) == "Accepted"
        await b.until(lambda: len(b.calls("StatusNotification")) == n_st + 1)
        assert b.calls("StatusNotification")[-1]["connectorId"] == 2
        assert await _trigger(b, "StatusNotification") == "Accepted"  # every connector
        await b.until(lambda: len(b.calls("StatusNotification")) == n_st + 4)
        assert await _trigger(b, "StatusNotification", 9) == "Rejected"
        assert await _trigger(b, "FirmwareStatusNotification") == "Accepted"
        await b.until(lambda: b.calls("SignedFirmwareStatusNotification") == [{"status": "Idle"}])
        assert await _trigger(b, "LogStatusNotification") == "Accepted"
        await b.until(lambda: b.calls("LogStatusNotification") == [{"status": "Idle"}])
        # a request in progress: its last status and requestId

        b.cp.fw.st = {"rid": 44, "ph": "Downloading"}
        assert await _trigger(b, "FirmwareStatusNotification") == "Accepted"
        await b.until(lambda: b.calls("SignedFirmwareStatusNotification")[-1:] == [{"status": "Downloading",
                                                                                   "requestId": 44}])
        n_mv = len(b.calls("MeterValues"))
        assert await _trigger(b, "MeterValues", 1) == "Accepted"
        await b.until(lambda: len(b.calls("MeterValues")) == n_mv + 1)
        mv = b.calls("MeterValues")[-1]
        assert mv["connectorId"] == 1 and mv["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
        assert await _trigger(b, "MeterValues", 9) == "Rejected"
        assert await _trigger(b, "SignChargePointCertificate") == "Rejected"  # no CpoName set
    finally:
        b.close()


def _cp_cert(b, name="fw_ec"):
    """A client certificate (made by `cryptography`, tests/host/pki_certs.py) as ocpp.cert;
    returns its notAfter."""
    import pem
    import pkivec
    import x509

    der = bytes(next(pem.blocks(pkivec.cert_pem(name))))
    with open(b.data + "/cp.der", "wb") as f:
        f.write(der)
    b.cp.o["cert"] = b.data + "/cp.der"
    return x509.parse(der)["not_after"]


async def _tick(b, wall):
    """The clock moves on; any bus event wakes the events task that looks at the certificate."""
    b.rig.wall = wall
    b.rig.bus.publish("link.up", {"link": "wifi"})
    await b.settle(60)


async def test_the_client_certificate_is_renewed_a_month_before_it_expires_at_start_and_daily():
    import os

    b = Bench(ocpp={"cpo_name": "uPile CPO"})
    try:
        end = _cp_cert(b)
        b.rig.wall = end - 40 * 86400  # 40 days left at start: nothing to do yet
        await b.booted()
        await _tick(b, end - 40 * 86400 + 60)
        assert not b.calls("SignCertificate")
        await _tick(b, end - 29 * 86400)  # a day later it is within the month
        await b.until(lambda: b.calls("SignCertificate"), 15000)  # a key and a CSR made from source: slow on a busy host
        csr = b.calls("SignCertificate")[0]["csr"]
        assert csr.startswith("-----BEGIN CERTIFICATE REQUEST-----")
        os.stat(b.data + "/cp_next.key")  # the new key stays on the pile, for CertificateSigned
        # the same day: not again; the next day, no certificate came: asked again
        await _tick(b, end - 29 * 86400 + 3600)
        assert len(b.calls("SignCertificate")) == 1
        await _tick(b, end - 28 * 86400 + 1)
        await b.until(lambda: len(b.calls("SignCertificate")) == 2, 15000)
        # a new certificate received and waiting for its notBefore: nothing more to ask
        with open(b.data + "/cp_next.json", "w") as f:
            f.write('{"not_before": %d}' % (end + 86400 * 365))
        await _tick(b, end - 27 * 86400 + 2)
        await b.settle(100)
        assert len(b.calls("SignCertificate")) == 2
    finally:
        b.close()
    # at start, without any trigger, when the month has begun; never without CpoName (the CSR's O)
    b = Bench(ocpp={"cpo_name": "uPile CPO"})
    try:
        end = _cp_cert(b)
        b.rig.wall = end - 10 * 86400
        await b.booted()
        await _tick(b, end - 10 * 86400 + 1)
        await b.until(lambda: b.calls("SignCertificate"), 15000)  # a key and a CSR made from source: slow on a busy host
    finally:
        b.close()
    b = Bench()
    try:
        end = _cp_cert(b)
        b.rig.wall = end - 10 * 86400
        await b.booted()
        await _tick(b, end - 10 * 86400 + 1)
        await b.settle(100)
        assert not b.calls("SignCertificate")
    finally:
        b.close()
