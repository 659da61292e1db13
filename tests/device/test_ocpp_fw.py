# heapsize: 640K
# timeout: 300
# OCPP part 2 in-process (ocppbench.Bench: the real charge point over the real pile, a fake
# CSMS): SignedUpdateFirmware's certificate check before the answer (fixtures made by
# `cryptography`, tests/device/vectors), the signature check the OTA engine runs over the
# manifest, the statuses from ota.* bus events in order with the requestId, retries, and a
# reboot in the middle (a new charge point over the same flash); the guaranteed notification
# queue; the security log.
import binascii
import os

import pkivec
from ocppbench import Bench

NOW = 1798761600  # 2027-01-01: inside the fixtures' validity
OK_END = ["Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting", "Installed"]


def _der(name):
    import pem

    return bytes(next(pem.blocks(pkivec.cert_pem(name))))


def _firmware():
    return bytes(i * 7 & 255 for i in range(3000))  # what x509_fw_sigs.txt's signatures cover


def _sig(cert, how):
    for f in pkivec.lines("x509_fw_sigs.txt"):
        if f[0] == cert and f[1] == how:
            return binascii.b2a_base64(pkivec.hexb(f[2])).decode().strip()
    raise KeyError(cert)


class FakeOta:
    """What the charge point sees of the OTA service through the station."""

    def __init__(self):
        self.cfg = {"url": ""}
        self.busy = False
        self.phase = "idle"
        self.requests = []  # (url, request id, opts)
        self.st = {"trial": False, "version": "1.0.0", "counter": 1, "rolled_back": None}

    def request_check(self, url, rid, opts):
        self.requests.append((url, rid, opts))

    def status(self):
        return dict(self.st, phase=self.phase)

    def backend_reached(self):
        pass


def _bench(data=None, roots=("root_rsa",), **kw):
    b = Bench(data=data, **kw)
    b.rig.wall = NOW
    ota = FakeOta()
    b.station.ota = ota
    b.station.update_status = ota.status
    if data is None:
        d = b.data + "/certs"
        try:
            os.mkdir(d)
        except OSError:
            pass
        for i, name in enumerate(roots):
            with open("%s/M%d.der" % (d, i), "wb") as f:
                f.write(_der(name))
    return b, ota


def _req(rid, cert="fw_pss", sig=None, **kw):
    fw = {"location": "http://rel.test/v2/manifest.dsse.json", "retrieveDateTime": "2026-12-31T00:00:00Z",
          "signingCertificate": pkivec.cert_pem(cert).decode(), "signature": sig or _sig("fw_pss", "pss32")}
    p = {"requestId": rid, "firmware": fw}
    p.update(kw)
    return p


def _statuses(b, rid):
    return [p["status"] for p in b.calls("SignedFirmwareStatusNotification") if p["requestId"] == rid]


async def _answer(b, payload):
    r = b.cp.handlers["SignedUpdateFirmware"](payload)
    if isinstance(r, tuple):
        r, after = r
        await after()
    await b.settle(50)
    return r


def _ev(b, kind, rid, **d):
    d["request_id"] = rid
    d.setdefault("reason", "")
    b.rig.bus.publish("ota." + kind, d)


async def test_certificates_are_checked_against_the_installed_roots_before_the_answer():
    b, ota = _bench()
    try:
        await b.booted()
        # issued by another root (an EC root the pile does not have): refused, event sent
        assert await _answer(b, _req(1, "fw_ec")) == {"status": "InvalidCertificate"}
        # expired, signed by a look-alike root, not a certificate at all
        assert await _answer(b, _req(2, "fw_expired")) == {"status": "InvalidCertificate"}
        assert await _answer(b, _req(3, "fw_impostor")) == {"status": "InvalidCertificate"}
        bad = _req(4)
        bad["firmware"]["signingCertificate"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        assert await _answer(b, bad) == {"status": "InvalidCertificate"}
        def refused():
            return [e for e in b.calls("SecurityEventNotification") if e["type"] == "InvalidFirmwareSigningCertificate"]

        await b.until(lambda: len(refused()) >= 4)
        ev = refused()
        assert "issuer_mismatch" in ev[0]["techInfo"] and "expired" in ev[1]["techInfo"]
        assert ev[0]["timestamp"] == "2027-01-01T00:00:00Z"
        assert ota.requests == [] and b.calls("SignedFirmwareStatusNotification") == []
        # no root installed at all: refused too
        b2, _ = _bench(roots=())
        try:
            await b2.booted()
            assert await _answer(b2, _req(5)) == {"status": "InvalidCertificate"}
        finally:
            b2.close()
        # the security log holds them, across a restart of the charge point
        from firmware.proto.ocpp import secev

        logged = [e[1] for e in secev.lines(b.data + "/seclog.jnl")]
        assert logged.count("InvalidFirmwareSigningCertificate") == 4
        # the modules of the check are not kept
        import sys

        assert "x509" not in sys.modules and "firmware.proto.ocpp.fwupdate" not in sys.modules
    finally:
        b.close()


async def test_an_accepted_request_goes_to_the_ota_engine_with_its_signature_check_and_reports_every_status():
    b, ota = _bench()
    try:
        await b.booted()
        r = await _answer(b, _req(7, retries=2, retryInterval=1))
        assert r == {"status": "Accepted"}
        await b.until(lambda: ota.requests)
        url, rid, opts = ota.requests[0]
        assert url == "http://rel.test/v2" and rid == 7
        # the engine checks the certificate's key and the signature over the file at
        # `location` (firmware/ota/extsig.py): RSA-PSS of the right file passes
        from hashlib import sha256

        from firmware.ota import extsig

        key, sig = opts["signature"]
        assert extsig.check(sha256(_firmware()).digest(), key, sig) is None
        bad = extsig.check(sha256(_firmware()[:-1] + b"\x00").digest(), key, sig)
        assert bad[0] == "ocpp_signature"
        ec = ["ec"] + [f[3:] for f in pkivec.lines("x509_fw_sigs.txt") if f[:2] == ["key", "fw_ec"]][0]
        assert extsig.check(sha256(_firmware()).digest(), ec, _sig("fw_ec", "ecdsa")) is None
        assert extsig.check(sha256(b"other").digest(), ec, _sig("fw_ec", "ecdsa"))[0] == "ocpp_signature"
        assert extsig.check(sha256(_firmware()).digest(), key, "%%%")[0] == "ocpp_signature"
        await b.until(lambda: _statuses(b, 7) == ["Downloading"])
        _ev(b, "SignatureVerified", 7, version="2.0.0", counter=2)  # our Ed25519 manifest check
        _ev(b, "Downloading", 7, version="2.0.0")
        _ev(b, "Downloaded", 7, version="2.0.0", signature="ok")
        _ev(b, "Installing", 7, version="2.0.0")
        await b.until(lambda: len(_statuses(b, 7)) == 5)
        # the install's reset: the CSMS had every status before it
        task = __import__("asyncio").create_task(opts["before_reset"]())
        await b.until(lambda: task.done())
        assert _statuses(b, 7) == OK_END[:5]
        # the trial boot confirms: Installed and the FirmwareUpdated event
        _ev(b, "Installed", None, version="2.0.0", counter=2)
        await b.until(lambda: _statuses(b, 7) == OK_END)
        await b.until(lambda: [e for e in b.calls("SecurityEventNotification") if e["type"] == "FirmwareUpdated"])
        # a periodic check's events (no request id) are not this request's
        _ev(b, "DownloadFailed", None)
        await b.settle(50)
        assert _statuses(b, 7) == OK_END
    finally:
        b.close()


async def test_bad_signature_retries_and_plain_update_firmware():
    b, ota = _bench()
    try:
        await b.booted()
        # the OCPP signature fails in the engine: InvalidSignature and its security event
        assert (await _answer(b, _req(8)))["status"] == "Accepted"
        await b.until(lambda: ota.requests)
        _ev(b, "Downloaded", 8, version="2.0.0", signature="bad")
        _ev(b, "InvalidSignature", 8, reason="ocpp_signature", detail="does not verify")
        _ev(b, "Finished", 8, reason="ocpp_signature")
        await b.until(lambda: _statuses(b, 8) == ["Downloading", "Downloaded", "InvalidSignature"])
        await b.until(lambda: [e for e in b.calls("SecurityEventNotification")
                               if e["type"] == "InvalidFirmwareSignature"])
        # a download that fails is tried `retries` more times, retryInterval apart, then DownloadFailed
        assert (await _answer(b, _req(9, retries=1, retryInterval=1)))["status"] == "Accepted"
        await b.until(lambda: len(ota.requests) == 2)
        _ev(b, "DownloadFailed", 9, reason="timeout")
        _ev(b, "Finished", 9, reason="timeout")
        await b.until(lambda: len(ota.requests) == 3, ms=4000)
        assert ota.requests[2][1] == 9
        _ev(b, "Finished", 9, reason="timeout")
        await b.until(lambda: _statuses(b, 9) == ["Downloading", "DownloadFailed"])
        await b.settle(1200)
        assert len(ota.requests) == 3  # no third attempt
        # a request while the engine runs another update is Rejected; while one waits, cancelled
        ota.phase = "downloading"
        assert (await _answer(b, _req(10)))["status"] == "Rejected"
        ota.phase = "idle"
        later = _req(11)
        later["firmware"]["retrieveDateTime"] = "2027-01-02T00:00:00Z"  # tomorrow
        assert (await _answer(b, later))["status"] == "Accepted"
        await b.until(lambda: _statuses(b, 11) == ["DownloadScheduled"])
        assert (await _answer(b, _req(12)))["status"] == "AcceptedCanceled"
        await b.until(lambda: ota.requests[-1][1] == 12)
        # the whitepaper's rule: the plain UpdateFirmware is not supported
        assert b.cp.handlers.get("UpdateFirmware") is None
    finally:
        b.close()


async def test_a_reboot_mid_update_resumes_the_request_and_unsent_statuses_go_after_it():
    b, ota = _bench()
    data = b.data
    try:
        await b.booted()
        assert (await _answer(b, _req(20, retries=2)))["status"] == "Accepted"
        await b.until(lambda: _statuses(b, 20) == ["Downloading"])
        b.csms.silent.add("SignedFirmwareStatusNotification")  # answers lost from now on
        _ev(b, "SignatureVerified", 20, version="2.0.0", counter=2)
        _ev(b, "Downloaded", 20, version="2.0.0", signature="ok")
        await b.until(lambda: len(b.calls("SignedFirmwareStatusNotification")) >= 2)
    finally:
        b.close()  # the power goes: the charge point's tasks die with the unanswered statuses
    b, ota = _bench(data=data)
    try:
        await b.booted()
        # the unanswered statuses go again, in order; the download is asked for again (resumes)
        await b.until(lambda: _statuses(b, 20)[:2] == ["Downloaded", "SignatureVerified"])
        await b.until(lambda: ota.requests and ota.requests[0][1] == 20)
        # then the boot into the new release's trial, after a cut before the install's statuses
        # were queued: Installing, InstallRebooting, and Installed when it is confirmed
    finally:
        b.close()
    b, ota = _bench(data=data)
    ota.st.update(trial=True, version="2.0.0")
    try:
        await b.booted()
        await b.until(lambda: _statuses(b, 20)[-2:] == ["Installing", "InstallRebooting"])
        _ev(b, "Installed", None, version="2.0.0", counter=2)
        await b.until(lambda: _statuses(b, 20)[-1:] == ["Installed"])
    finally:
        b.close()
    # a rollback found at boot (the event was lost with the power): InstallVerificationFailed
    b, ota = _bench(data=data)
    try:
        import fsatomic

        fsatomic.write_json(data + "/fw.json", {"rid": 21, "ph": "InstallRebooting", "ctr": 2, "ver": "2.0.0",
                                                "url": "x", "sig": "", "key": ["rsa", "1", 3], "n": 1})
        b.close()
        b, ota = _bench(data=data)
        ota.st.update(rolled_back="2")
        await b.booted()
        await b.until(lambda: _statuses(b, 21) == ["InstallVerificationFailed"])
    finally:
        b.close()


def _open(b):
    return [n for n in (1, 2, 3) if b.station.port(n)["available"]]


async def test_idle_ports_are_unavailable_while_a_session_delays_the_install_and_open_again_after():
    b, ota = _bench(n=3)
    data, rig = b.data, b.rig
    try:
        await b.booted()
        b.station.set_available(3, False)  # the operator's: never opened by the update
        b.station.start(1, "full", 0, "x", "card")
        b.plug(1)
        await b.run(3)
        assert (await _answer(b, _req(30, retries=2)))["status"] == "Accepted"
        await b.until(lambda: ota.requests)
        _ev(b, "SignatureVerified", 30, version="2.0.0", counter=2)
        _ev(b, "Downloaded", 30, version="2.0.0", signature="ok")
        _ev(b, "InstallScheduled", 30, reason="ports_busy", version="2.0.0")
        # port 2 (idle) closes, port 1 keeps its session, and the CSMS is told
        await b.until(lambda: _open(b) == [1])
        assert b.station.port(1)["id"] is not None
        await b.until(lambda: [s for s in b.calls("StatusNotification")
                               if s["connectorId"] == 2 and s["status"] == "Unavailable"])
        # the session ends: its port closes too, nobody starts a new one before the install
        b.station.stop(1, "Local", "card")
        await b.run(2)
        await b.until(lambda: _open(b) == [])
    finally:
        b.close()  # a power cut during the wait
    rig.reboot()
    b, ota = _bench(data=data, rig=rig)
    try:
        # the start opens them again (not Unavailable forever); the wait begins again
        await b.until(lambda: _open(b) == [1, 2])
        await b.booted()
        await b.until(lambda: ota.requests and ota.requests[0][1] == 30)
        b.station.start(2, "full", 0, "y", "card")
        b.plug(2)
        await b.run(2)
        _ev(b, "InstallScheduled", 30, reason="ports_busy", version="2.0.0")
        await b.until(lambda: _open(b) == [2])
        # the operator reopens port 1 during the wait: the update leaves it alone from then on
        assert b.cp.handlers["ChangeAvailability"]({"connectorId": 1, "type": "Operative"}) == {"status": "Accepted"}
        assert _open(b) == [1, 2]
        b.station.stop(2, "Local", "card")
        await b.run(2)
        await b.until(lambda: _open(b) == [1])
        # the install fails: its end opens the ports it closed, and only those
        _ev(b, "Installing", 30, version="2.0.0")
        _ev(b, "InstallationFailed", 30, reason="flash", version="2.0.0")
        await b.until(lambda: _statuses(b, 30)[-1:] == ["InstallationFailed"])
        await b.until(lambda: _open(b) == [1, 2])
        await b.settle(50)
        assert _open(b) == [1, 2] and not b.station.port(3)["available"]
    finally:
        b.close()
    # a cut after the install's reset: the ports it closed open at the (trial) start
    import fsatomic

    fsatomic.write_json(data + "/fw.json", {"rid": 31, "ph": "InstallRebooting", "ctr": 2, "ver": "2.0.0",
                                            "url": "x", "sig": "", "key": ["rsa", "1", 3], "n": 1, "closed": [1]})
    rig.reboot()
    b, ota = _bench(data=data, rig=rig)
    ota.st.update(trial=True, version="2.0.0")
    b.station.set_available(1, False)
    try:
        await b.booted()
        await b.until(lambda: _open(b) == [1, 2])
        assert "closed" not in fsatomic.read_json(data + "/fw.json", {})
    finally:
        b.close()


async def test_the_notification_queue_is_bounded_and_gives_up_after_three_errors():
    b, _ = _bench()
    try:
        await b.booted()
        # every boot tells the CSMS (a critical event)
        await b.until(lambda: [e for e in b.calls("SecurityEventNotification") if e["type"] == "StartupOfTheDevice"])
        await b.until(lambda: b.cp.outq.pending() == 0)
        b.csms.errors["SecurityEventNotification"] = 3
        b.cp.security("TamperDetectionActivated", "door open")
        await b.until(lambda: b.cp.outq.pending() == 0, ms=20000)
        ids = [c[0] for c in b.csms.calls if c[1] == "SecurityEventNotification" and c[2]["type"] != "StartupOfTheDevice"]
        assert len(ids) == 3 and len(set(ids)) == 3  # a new id after each CALLERROR, then given up
        b.drop()
        b.online = False
        for i in range(45):
            b.cp.outq.add("SecurityEventNotification", {"type": "MemoryExhaustion", "timestamp": None,
                                                        "techInfo": "n%d" % i})
        assert b.cp.outq.pending() == 40 and b.cp.outq.dropped == 5
        b.online = True
        await b.until(lambda: b.cp.outq.pending() == 0, ms=20000)
        got = [e["techInfo"] for e in b.calls("SecurityEventNotification") if e["type"] == "MemoryExhaustion"]
        assert got == ["n%d" % i for i in range(5, 45)]  # the newest 40, in order
    finally:
        b.close()


class FakeFront:
    """The front's alarm journal as the station shows it (firmware/front/alarms.py)."""

    def __init__(self):
        self.pending = []

    def pending_alarms(self, limit):
        return self.pending[:limit]

    def ack_alarm(self, aid):
        n = len(self.pending)
        self.pending = [a for a in self.pending if a["id"] != aid]
        return len(self.pending) < n


async def test_a_door_alarm_raises_tamper_detection_and_one_lost_in_a_power_cut_is_found_at_start():
    b, _ = _bench()
    data = b.data
    front = FakeFront()
    b.station.front = front
    try:
        await b.booted()
        front.pending = [{"id": 5, "what": "door", "on": True, "unix": NOW}, {"id": 6, "what": "smoke", "on": True}]
        b.rig.bus.publish("alarm.door", {"on": True, "id": 5})
        await b.until(lambda: [e for e in b.calls("SecurityEventNotification") if e["type"] == "TamperDetectionActivated"])
        assert [a["id"] for a in front.pending] == [6]  # the door change acknowledged, smoke left to others
    finally:
        b.close()
    # a door opened while the power went (its bus event lost): found in the pending list at start
    front.pending = [{"id": 7, "what": "door", "on": True, "unix": NOW}, {"id": 8, "what": "door", "on": False}]
    b, _ = _bench(data=data)
    b.station.front = front
    try:
        await b.booted()
        await b.until(lambda: [e for e in b.calls("SecurityEventNotification")
                               if e["type"] == "TamperDetectionActivated" and "alarm 7" in e["techInfo"]])
        assert front.pending == []
        from firmware.proto.ocpp import secev

        kinds = [e[1] for e in secev.lines(data + "/seclog.jnl")]  # kept across the restart
        assert kinds.count("TamperDetectionActivated") == 2 and kinds.count("StartupOfTheDevice") == 2
    finally:
        b.close()


def test_the_security_log_is_bounded():
    import os

    from firmware.proto.ocpp import secev

    class Cp:
        class station:
            class bus:
                @staticmethod
                def now():
                    return NOW

        class outq:
            n = 0

            @classmethod
            def add(cls, action, p):
                cls.n += 1

    path = (os.getenv("UPILE_TMP") or ".") + "/seclog_bound.jnl"
    for i in range(300):
        secev.record(Cp, "InvalidMessages" if i % 2 else "FirmwareUpdated", "n%d" % i, path)
    got = list(secev.lines(path))
    assert 200 <= len(got) <= 250 and got[-1][2] == "n299" and got[-1][0] == NOW
    assert Cp.outq.n == 150  # only the critical ones (FirmwareUpdated) are sent
    assert os.stat(path)[6] < 250 * 40


async def test_a_handler_out_of_heap_is_answered_internal_error_and_raises_memory_exhaustion():
    from firmware.proto.ocpp import secev

    b, _ = _bench()
    try:
        await b.booted()
        # a command whose work does not fit the heap (a real allocation failing, not a raise)
        b.cp.rpc.handlers = {"DataTransfer": lambda p: bytearray(1 << 30)}
        b.ws.feed([2, "oom-1", "DataTransfer", {"vendorId": "com.test"}])
        await b.until(lambda: [m for m in b.ws.out if m[0] == 4 and m[1] == "oom-1"])
        assert [m for m in b.ws.out if m[1] == "oom-1"][0][2] == "InternalError"
        await b.until(lambda: [e for e in b.calls("SecurityEventNotification") if e["type"] == "MemoryExhaustion"])
        ev = [e for e in b.calls("SecurityEventNotification") if e["type"] == "MemoryExhaustion"][0]
        assert ev["techInfo"].startswith("DataTransfer: MemoryError")
        assert [t for t in secev.lines(b.data + "/seclog.jnl") if t[1] == "MemoryExhaustion"]
    finally:
        b.close()
