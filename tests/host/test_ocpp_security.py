"""OCTT security cases for profiles 1-3 (OCA test case document for OCPP 1.6, 2.24) on the sim
board against the bench CSMS, and the TLS refusals around them: Basic authentication with
the AuthorizationKey's decoded bytes, a new key, upgrading the security profile (and falling
back when the upgrade fails), refusing a downgrade, verified TLS (CA, host name, expiry),
a client certificate. Certificates come from a test CA made with `cryptography`
(tools/upile/csms/pki.py). The cases about installing or renewing certificates, security
events, logs and signed firmware (TC_074-TC_082) belong to part 2.
"""
import base64

import pytest

from ocppsim import OcppPile
from upile.csms import Csms, pki

KEY = "4F43415F4F4354545F61646D696E5F74657374"  # "OCA_OCTT_admin_test", the OCTT's own example
KEY2 = "75506965642d6e65772d6b65792d3132"  # 16 bytes, not UTF-8 text we would print


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    good = pki.make(d / "good", host="localhost", cp_serials=("CP3",))
    other = pki.make(d / "other", host="localhost")  # a CA the pile does not trust
    expired = pki.make(d / "expired", host="localhost", server_days=(30, -1))  # notAfter yesterday
    return good, other, expired


def basic(cid, key_hex):
    return "Basic " + base64.b64encode(cid.encode() + b":" + bytes.fromhex(key_hex)).decode()


def tls_files(files, with_client=False):
    out = {"/config/ocpp_ca.der": files["ca"].read_bytes()}
    if with_client:
        out["/config/ocpp_cp.der"] = files["cp:CP3"].read_bytes()
        out["/config/ocpp_cp.key"] = files["cp_key:CP3"].read_bytes()
    return out


def test_TC_085_CS_basic_authentication_with_the_decoded_key():
    with Csms(passwords={"CP3": bytes.fromhex(KEY)}) as c:
        with OcppPile(c, "CP3", cfg={"ocpp": {"profile": 1, "auth_key": KEY}}) as pile:
            assert pile.p.auth_header == basic("CP3", KEY)  # ChargePointId:bytes, the id as in the URL
            assert c.requests[-1][0] == "/ocpp/CP3"
            assert KEY.lower() not in pile.console().lower() and "OCA_OCTT" not in pile.console()  # never logged


def test_basic_authentication_refused_is_retried_with_backoff():
    with Csms(passwords={"CP3": bytes.fromhex(KEY2)}) as c:
        with OcppPile(c, "CP3", cfg={"ocpp": {"profile": 1, "auth_key": KEY}}, boots=0) as pile:
            c.wait(lambda: len(c.requests) >= 3, 30, "three attempts")
            assert pile.p.boots == 0
            pile.b.wait_console(r"refused the credentials of CP3 \(HTTP 401\)", 10)
            c.passwords["CP3"] = bytes.fromhex(KEY)  # the operator fixes the CSMS side
            c.wait_pile("CP3", 30)


def test_TC_073_CS_update_the_basic_authentication_password():
    with Csms(passwords={"CP3": bytes.fromhex(KEY)}) as c:
        with OcppPile(c, "CP3", cfg={"ocpp": {"profile": 1, "auth_key": KEY}}) as pile:
            conns = pile.p.connections
            c.passwords["CP3"] = bytes.fromhex(KEY2)  # the CSMS takes the new one from now on
            assert c.set_config("CP3", "AuthorizationKey", KEY2) == "Accepted"
            c.wait(lambda: pile.p.connections > conns and pile.p.connected, 30, "a new connection")
            assert pile.p.auth_header == basic("CP3", KEY2)
            assert pile.p.boots == 1  # a reconnect is not a reboot
            # kept on flash once accepted: after a power cut it connects with the new key
            pile.b.wait_console(r"security profile 1 and its key kept", 10)
            pile.cut()
            pile.on(2)
            assert pile.p.auth_header == basic("CP3", KEY2)
            # a key the CSMS does not take: three tries, then the previous key again
            conns = pile.p.connections
            assert c.set_config("CP3", "AuthorizationKey", KEY) == "Accepted"
            c.wait(lambda: pile.p.connections > conns and pile.p.connected, 60, "back with the old key")
            assert pile.p.auth_header == basic("CP3", KEY2)
            pile.b.wait_console(r"new key failed 3 times", 10)


def test_TC_086_CS_tls_server_certificate_valid(certs):
    good = certs[0]
    with Csms(host="localhost", ssl=pki.server_context(good), passwords={"CP3": bytes.fromhex(KEY)}) as c:
        with OcppPile(c, "CP3", cfg={"ocpp": {"profile": 2, "auth_key": KEY}}, files=tls_files(good)) as pile:
            assert c.url.startswith("wss://") and pile.p.auth_header == basic("CP3", KEY)
            assert pile.p.boot["chargePointVendor"] == "uPile"


def test_TC_087_CS_tls_client_certificate_valid(certs):
    good = certs[0]
    with Csms(host="localhost", ssl=pki.server_context(good, client_ca=True)) as c:
        with OcppPile(c, "CP3", cfg={"ocpp": {"profile": 3}}, files=tls_files(good, True)) as pile:
            assert pile.p.auth_header is None  # profile 3: the certificate is the credential
            assert pile.p.connected


@pytest.mark.parametrize("which,why", [("other", "not issued by the provisioned CA"),
                                       ("expired", "expired yesterday"),
                                       ("host", "issued for another host name")])
def test_tls_refuses_a_csms_certificate(certs, which, why):
    good, other, expired = certs
    server = {"other": other, "expired": expired, "host": good}[which]
    host = "127.0.0.1" if which == "host" else "localhost"  # the certificate names localhost only
    with Csms(host=host, ssl=pki.server_context(server), passwords={"CP3": bytes.fromhex(KEY)}) as c:
        with OcppPile(c, "CP3", cfg={"ocpp": {"profile": 2, "auth_key": KEY}}, files=tls_files(good),
                      boots=0) as pile:
            pile.b.wait_console(r"connect failed: tls", 30)
            pile.b.wait_console(r"security event InvalidCentralSystemCertificate", 30)  # mbedTLS's verdict
            pile.b.wait_console(r"connect failed: tls", 30, since=pile.b.console_mark())  # and again, later
            assert "CP3" not in c.piles or not c.piles["CP3"].connected, why


def test_TC_083_CS_upgrade_security_profile_and_keep_it(certs):
    good = certs[0]
    with Csms(passwords={"CP3": bytes.fromhex(KEY)}) as c1, \
            Csms(host="localhost", ssl=pki.server_context(good), passwords={"CP3": bytes.fromhex(KEY)}) as c2:
        cfg = {"ocpp": {"profile": 1, "auth_key": KEY, "url_tls": c2.url}}
        with OcppPile(c1, "CP3", cfg=cfg, files=tls_files(good)) as pile:
            assert c1.set_config("CP3", "SecurityProfile", "2") == "Accepted"
            c2.wait(lambda: "CP3" in c2.piles and c2.piles["CP3"].connected, 60, "the wss connection")
            pile.b.wait_console(r"security profile 2 and its key kept", 10)
            assert c2.piles["CP3"].auth_header == basic("CP3", KEY)
            assert c2.get_config("CP3", ["SecurityProfile"])[0] == {"SecurityProfile": "2"}
            # TC_084: never down again
            assert c2.set_config("CP3", "SecurityProfile", "1") == "Rejected"
            assert c2.set_config("CP3", "SecurityProfile", "2") == "Rejected"
            pile.cut()  # kept on flash: after a power cut it boots on wss at once
            pile.b.power_on()
            c2.wait_pile("CP3", 60)


def test_TC_084_CS_downgrade_security_profile_rejected(certs):
    good = certs[0]
    with Csms(host="localhost", ssl=pki.server_context(good), passwords={"CP3": bytes.fromhex(KEY)}) as c:
        with OcppPile(c, "CP3", cfg={"ocpp": {"profile": 2, "auth_key": KEY}}, files=tls_files(good)) as pile:
            assert c.set_config("CP3", "SecurityProfile", "1") == "Rejected"
            assert c.set_config("CP3", "SecurityProfile", "0") == "Rejected"
            assert c.get_config("CP3", ["SecurityProfile"])[0] == {"SecurityProfile": "2"}
            assert pile.p.connected


def test_a_failed_profile_upgrade_falls_back(certs):
    good, other = certs[0], certs[1]
    with Csms(passwords={"CP3": bytes.fromhex(KEY)}) as c1, \
            Csms(host="localhost", ssl=pki.server_context(other), passwords={"CP3": bytes.fromhex(KEY)}) as c2:
        cfg = {"ocpp": {"profile": 1, "auth_key": KEY, "url_tls": c2.url}}
        with OcppPile(c1, "CP3", cfg=cfg, files=tls_files(good)) as pile:
            conns = pile.p.connections
            assert c1.set_config("CP3", "SecurityProfile", "2") == "Accepted"
            pile.b.wait_console(r"security profile 2 / new key failed 3 times: back to profile 1", 60)
            c1.wait(lambda: pile.p.connections > conns and pile.p.connected, 60, "back on profile 1")
            assert c1.get_config("CP3", ["SecurityProfile"])[0] == {"SecurityProfile": "1"}


def test_a_csms_that_does_not_speak_ocpp16_is_a_clear_failure():
    with Csms(subprotocols=None) as c:  # it answers the upgrade without selecting ocpp1.6 (OCPP-J 3.2)
        with OcppPile(c, "CP3", boots=0) as pile:
            pile.b.wait_console(r"the CSMS does not speak ocpp1.6", 30)
            # the pile closes the connection; the CSMS sees the close a moment later
            c.wait(lambda: not c.piles["CP3"].connected, 15, "the pile's close")
            assert c.piles["CP3"].boots == 0
    with Csms(subprotocols=("ocpp2.0.1",)) as c:  # `websockets` answers an offer it cannot serve with 400
        with OcppPile(c, "CP3", boots=0) as pile:
            pile.b.wait_console(r"HTTP 400: the CSMS refused the upgrade", 30)


def test_an_unknown_charge_point_id_gets_404_and_retries():
    with Csms(known={"CP-OTHER"}) as c:
        with OcppPile(c, "CP/3+x", boots=0) as pile:  # an id that needs percent-encoding
            pile.b.wait_console(r"does not know charge point id CP/3\+x \(HTTP 404\)", 30)
            assert c.requests[-1][0] == "/ocpp/CP%2F3%2Bx"
            c.known.add("CP/3+x")
            c.wait_pile("CP/3+x", 30)
