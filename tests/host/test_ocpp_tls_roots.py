"""Installed CSMS roots in the TLS handshake, on the sim board's real mbedTLS against `upile
csms` (docs/ocpp.md "Part 2: certificates"): the pile trusts `ocpp.ca` and every
CentralSystemRootCertificate installed by InstallCertificate. The CSMS moves to a server
certificate of another root, which the pile only trusts once that root is installed; after
DeleteCertificate of it the next handshake fails (InvalidCentralSystemCertificate in the
security log), until the CSMS serves a certificate of `ocpp.ca`'s root again."""
from cryptography import x509

from ocppsim import OcppPile
from upile.csms import Csms, pki

KEY = "4F43415F4F4354545F61646D696E5F74657374"


def _hash_of(c, cid, ca_der):
    """The CertificateHashData the pile reports for the installed root `ca_der`."""
    serial = "%x" % x509.load_der_x509_certificate(ca_der).serial_number
    r = c.call(cid, "GetInstalledCertificateIds", {"certificateType": "CentralSystemRootCertificate"})
    got = [h for h in r.get("certificateHashData", ()) if h["serialNumber"] == serial]
    assert len(got) == 1, r
    return got[0]


def test_an_installed_csms_root_verifies_the_csms_until_it_is_deleted(tmp_path):
    a = pki.make(tmp_path / "a", host="localhost")  # ocpp.ca: provisioned
    b = pki.make(tmp_path / "b", host="localhost")  # installed over OCPP
    with Csms(host="localhost", ssl=pki.server_context(a), passwords={"CP3": bytes.fromhex(KEY)}) as c:
        with OcppPile(c, "CP3", cfg={"ocpp": {"profile": 2, "auth_key": KEY}},
                      files={"/config/ocpp_ca.der": a["ca"].read_bytes()}) as pile:
            inst = {"certificateType": "CentralSystemRootCertificate", "certificate": b["ca_pem"].read_text()}
            assert c.call("CP3", "InstallCertificate", inst) == {"status": "Accepted"}
            # the CSMS now presents a certificate of root b: the pile's next handshake takes it
            c.serve_cert(b["server"], b["server_key"])
            conns = pile.p.connections
            c.drop("CP3")
            c.wait(lambda: pile.p.connections > conns and pile.p.connected, 60, "a connection verified by root b")
            assert pile.p.boots == 1  # a reconnect, no reboot
            assert "InvalidCentralSystemCertificate" not in pile.console()
            # root b deleted (ocpp.ca is still there, so it may go even on wss://)
            h = _hash_of(c, "CP3", b["ca"].read_bytes())
            assert c.call("CP3", "DeleteCertificate", {"certificateHashData": h}) == {"status": "Accepted"}
            mark = pile.b.console_mark()
            conns = pile.p.connections
            c.drop("CP3")
            pile.b.wait_console(r"security event InvalidCentralSystemCertificate", 60, since=mark)
            pile.b.wait_console(r"connect failed: tls", 30, since=pile.b.console_mark())  # and again, later
            assert not pile.p.connected
            # back on a certificate of ocpp.ca's root: connected again
            c.serve_cert(a["server"], a["server_key"])
            c.wait(lambda: pile.p.connections > conns and pile.p.connected, 60, "a connection verified by ocpp.ca")
            # the event is in the security log once for the run of failed connects (not a critical
            # one: the whitepaper sends only those to the CSMS)
            assert pile.console().encode()[mark:].count(b"security event InvalidCentralSystemCertificate") == 1


def test_a_pile_without_ocpp_ca_upgrades_on_an_installed_root_and_keeps_it(tmp_path):
    b = pki.make(tmp_path / "b", host="localhost")
    pw = {"CP3": bytes.fromhex(KEY)}
    with Csms(passwords=pw) as c1, Csms(host="localhost", ssl=pki.server_context(b), passwords=pw) as c2:
        cfg = {"ocpp": {"profile": 1, "auth_key": KEY, "url_tls": c2.url}}
        with OcppPile(c1, "CP3", cfg=cfg) as pile:  # no /config/ocpp_ca.der
            # TLS with no root to verify the CSMS: refused at once (not three failed connects)
            assert c1.set_config("CP3", "SecurityProfile", "2") == "Rejected"
            inst = {"certificateType": "CentralSystemRootCertificate", "certificate": b["ca_pem"].read_text()}
            assert c1.call("CP3", "InstallCertificate", inst) == {"status": "Accepted"}
            assert c1.set_config("CP3", "SecurityProfile", "2") == "Accepted"
            c2.wait(lambda: "CP3" in c2.piles and c2.piles["CP3"].connected, 60, "the wss connection")
            pile.b.wait_console(r"security profile 2 and its key kept", 10)
            # the one root the TLS connection trusts cannot be deleted
            h = _hash_of(c2, "CP3", b["ca"].read_bytes())
            assert c2.call("CP3", "DeleteCertificate", {"certificateHashData": h}) == {"status": "Failed"}
            assert _hash_of(c2, "CP3", b["ca"].read_bytes()) == h
