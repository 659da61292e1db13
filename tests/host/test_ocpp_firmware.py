"""OCPP SignedUpdateFirmware on the sim board against the bench CSMS (docs/ocpp.md "Part 2:
signed firmware updates"): a factory pile running release 1.0.0 from slot a, its
ManufacturerRootCertificate installed, releases 2.0.0 signed for OCPP by `upile release
--ocpp-signing` (tools/upile/fwsign.py) on a loopback release server. The update runs through
the OTA engine (the same download, Ed25519 manifest check, slot install, trial, confirm).
"""
import re
import time

from upile import fwsign
from upile.csms import Csms, CsmsCallError
from upile.sim import fwpile, otakit

import otafault

OK_END = ["Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting", "Installed"]


class FwPile(fwpile.FwPile):
    """upile.sim.fwpile's factory pile, its release server able to fail on purpose (otafault)."""

    def __init__(self, tmp, csms, **kw):
        super().__init__(tmp, csms, handler=otafault.FaultHandler, **kw)
        self.srv = otafault.install(self.ch)


def _fw_requests(srv):
    return [r for r in srv.log if r[0].endswith(("bundle.bin", "image.bin"))]


def test_TC_080_CS_signed_update_installs_reports_every_status_and_TC_044_plain_update_is_not_supported(tmp_path):
    # OCTT TC_080 (secure firmware update): every status in order, the new boot, FirmwareUpdated,
    # every connector Available after it; TC_044_1-3 meet UpdateFirmware's NotSupported (L01.FR.20)
    with Csms() as c:
        pile = FwPile(tmp_path, c)
        try:
            pile.on(1)
            assert pile.p.boot["firmwareVersion"] == "1.0.0"
            try:  # L01.FR.20: the signed variant only
                c.call(pile.cid, "UpdateFirmware", {"location": pile.location(), "retrieveDate": "2026-01-01T00:00:00Z"})
                raise AssertionError("UpdateFirmware was accepted")
            except CsmsCallError as e:
                assert e.args[0] == "NotSupported"
            r = c.call(pile.cid, "SignedUpdateFirmware", pile.request(7, retries=2, retry_interval=5))
            assert r == {"status": "Accepted"}
            pile.wait_status(7, "Installed", 150)
            assert pile.statuses(7) == OK_END, pile.statuses(7)
            assert pile.p.boots == 2 and pile.p.boot["firmwareVersion"] == "2.0.0"
            c.wait(lambda: pile.events("FirmwareUpdated"), 30, "FirmwareUpdated event")
            assert not pile.events("InvalidFirmwareSignature")
            boot = max(i for i, x in enumerate(pile.p.log) if x[1] == "in" and '"BootNotification"' in x[2])

            def available():
                got = {x["connectorId"]: x["status"] for _, x in c.calls(pile.cid, "StatusNotification", boot)}
                return all(got.get(k) == "Available" for k in (0, 1, 2))
            c.wait(available, 30, "every connector Available after the update's boot")
            assert _fw_requests(pile.srv)  # the bundle came from the release server: one download path
            assert "Traceback" not in pile.b.console_text(), pile.tail()
        finally:
            pile.close()


def test_a_certificate_of_another_root_is_refused_before_any_download(tmp_path):
    with Csms() as c:
        pile = FwPile(tmp_path, c, kind="ec")
        try:
            pile.on(1)
            other = fwsign.keygen(tmp_path / "other", "ec", org="Another Maker")  # a root the pile lacks
            req = pile.request(3)
            req["firmware"]["signingCertificate"] = (other / fwsign.SIGN_PEM).read_text()
            n0 = len(pile.srv.log)
            assert c.call(pile.cid, "SignedUpdateFirmware", req) == {"status": "InvalidCertificate"}
            ev = c.wait(lambda: pile.events("InvalidFirmwareSigningCertificate"), 30, "the security event")
            assert "issuer_mismatch" in ev[0].get("techInfo", "")
            # garbage in place of a certificate: refused the same way
            req["firmware"]["signingCertificate"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            assert c.call(pile.cid, "SignedUpdateFirmware", req) == {"status": "InvalidCertificate"}
            time.sleep(1.0)  # nothing may follow: give a wrong download the chance to show
            assert len(pile.srv.log) == n0 and pile.statuses(3) == []
            assert "OTA Downloading" not in pile.b.console_text()
        finally:
            pile.close()


def test_TC_081_CS_a_good_certificate_with_a_bad_signature_is_refused_after_download(tmp_path):
    # the whitepaper's order: download, then the signature (L01.FR.04); ours checks the
    # digest taken on arrival once the release is on flash (firmware/ota/service.py)
    with Csms() as c:
        pile = FwPile(tmp_path, c, kind="ec")
        try:
            pile.on(1)
            req = pile.request(11)
            v1sig = (tmp_path / "srv" / "v1" / fwsign.SIG_NAME).read_text().strip()
            req["firmware"]["signature"] = v1sig  # signed by the right key, over another file
            assert c.call(pile.cid, "SignedUpdateFirmware", req) == {"status": "Accepted"}
            pile.wait_status(11, "InvalidSignature", 60)
            assert pile.statuses(11) == ["Downloading", "Downloaded", "InvalidSignature"]
            c.wait(lambda: pile.events("InvalidFirmwareSignature"), 30, "the security event")
            assert "OTA Installing" not in pile.b.console_text()  # downloaded, never installed
            assert "ocpp_signature" in pile.b.console_text()
        finally:
            pile.close()


def test_a_release_the_csms_signed_but_our_manifest_key_did_not_is_refused(tmp_path):
    # both checks must pass: a manifest signed by another Ed25519 key (a leaked OCPP signing
    # certificate, or an operator signing someone else's build) passes the OCPP signature and
    # is still refused by our manifest check, before anything is installed
    with Csms() as c:
        pile = FwPile(tmp_path, c, kind="ec")
        try:
            pile.on(1)
            stranger, _ = otakit.dev_key(tmp_path / "stranger-key")
            otakit.make(tmp_path / "srv" / "v3", pile.rel["v2"][0], "3.0.0", 3, stranger)
            fwsign.sign_release(tmp_path / "srv" / "v3", pile.sd)  # the OCPP signature is good
            assert c.call(pile.cid, "SignedUpdateFirmware", pile.request(13, name="v3")) == {"status": "Accepted"}
            pile.wait_status(13, "InvalidSignature", 60)
            assert pile.statuses(13) == ["Downloading", "Downloaded", "InvalidSignature"], pile.statuses(13)
            ev = c.wait(lambda: pile.events("InvalidFirmwareSignature"), 30, "the security event")
            assert "trusted key" in ev[0].get("techInfo", ""), ev  # ours refused it, not the CSMS's
            assert "OTA Installing" not in pile.b.console_text()
            assert not _fw_requests(pile.srv)  # refused on the manifest: no bundle fetched
            assert c.call(pile.cid, "GetConfiguration", {"key": ["SupportedFeatureProfiles"]})  # still serving
            assert pile.p.boots == 1 and pile.p.boot["firmwareVersion"] == "1.0.0"
        finally:
            pile.close()


def test_power_cuts_during_download_and_trial_still_end_installed(tmp_path):
    with Csms() as c:
        pile = FwPile(tmp_path, c)
        try:
            pile.on(1)
            pile.srv.fault = ("stall", 1)  # the first bundle request hangs: the cut comes mid-download
            assert c.call(pile.cid, "SignedUpdateFirmware", pile.request(21, retries=3, retry_interval=2)) == \
                {"status": "Accepted"}
            pile.wait_status(21, "Downloading", 60)
            c.wait(lambda: _fw_requests(pile.srv), 30, "the bundle requested")
            pile.b.power_cut()
            pile.srv.fault = (None, None)
            pile.on(2)  # the request resumes after the reboot
            pile.wait_status(21, "InstallRebooting", 120)
            c.wait(lambda: pile.p.boots >= 3, 60, "the trial boot")
            assert pile.p.boot["firmwareVersion"] == "2.0.0"
            pile.b.power_cut()  # the trial cut short by the power: not counted, tried again
            pile.on(4)
            pile.wait_status(21, "Installed", 120)
            st = pile.statuses(21)
            # a power cut may cut a notification's answer short: it is sent again (at least once)
            assert [x for i, x in enumerate(st) if i == 0 or st[i - 1] != x] == OK_END, st
            assert pile.p.boot["firmwareVersion"] == "2.0.0"
            text = pile.b.console_text()
            assert "RolledBack" not in text
        finally:
            pile.close()


def _sent(pile, status):
    """The pile sent this SignedFirmwareStatusNotification (seen before its answer)."""
    return any(x[1] == "in" and '"SignedFirmwareStatusNotification"' in x[2] and '"%s"' % status in x[2]
               for x in pile.p.log)


def test_power_cuts_while_notifications_wait_for_their_answers_and_mid_install_end_installed(tmp_path):
    # the CSMS answers slowly: each cut comes after a status left the pile and before its answer
    # came back (SignatureVerified: before the install; Installing: the slot being written)
    with Csms() as c:
        pile = FwPile(tmp_path, c, ota={"health_s": 5})
        try:
            pile.on(1)
            boots = 1
            assert c.call(pile.cid, "SignedUpdateFirmware", pile.request(41)) == {"status": "Accepted"}
            for status in ("SignatureVerified", "Installing"):
                pile.p.delay_s = 3.0
                c.wait(lambda: _sent(pile, status), 120, "%s sent (so far %s)" % (status, pile.statuses(41)))
                pile.b.power_cut()
                pile.p.delay_s = 0.0
                boots += 1
                pile.on(boots)
            pile.wait_status(41, "Installed", 150)
            st = pile.statuses(41)
            # a status cut off before its answer is sent again (the bench CSMS records the one it
            # was answering when the power went only after its delay): first sightings in order
            assert [x for i, x in enumerate(st) if x not in st[:i]] == OK_END, st
            assert pile.p.boot["firmwareVersion"] == "2.0.0"
            c.wait(lambda: pile.events("FirmwareUpdated"), 30, "FirmwareUpdated event")
            assert "RolledBack" not in pile.b.console_text()
        finally:
            pile.close()


def test_a_release_that_fails_its_trial_is_rolled_back_and_the_csms_told(tmp_path):
    broken = {"firmware/version.py": 'raise RuntimeError("2.0.0 broken at import")\n'}
    with Csms() as c:
        pile = FwPile(tmp_path, c, v2_modules=broken, ota={"trials": 2, "trial_wdt_s": 3})
        try:
            pile.on(1)
            assert c.call(pile.cid, "SignedUpdateFirmware", pile.request(31)) == {"status": "Accepted"}
            pile.wait_status(31, "InstallVerificationFailed", 150)
            st = pile.statuses(31)
            assert st == OK_END[:-1] + ["InstallVerificationFailed"], st
            # the version that actually runs: the old one, in the boot after the rollback
            assert pile.p.boots == 2 and pile.p.boot["firmwareVersion"] == "1.0.0"
            assert re.search(r"OTA RolledBack .* v=2\.0\.0", pile.b.console_text())
            assert not pile.events("FirmwareUpdated")
        finally:
            pile.close()
