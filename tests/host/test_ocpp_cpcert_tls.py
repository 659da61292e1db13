"""Security profile 3 with the pile's own certificate, end to end over TLS on the sim board
against `upile csms` (docs/ocpp.md "Part 2: the charge point certificate"): the provisioned
client certificate ends in 20 days, so the pile asks for a new one by itself (SignCertificate,
the renewal a month before expiry); the CSMS's root signs the CSR (`cryptography`,
pki.sign_csr), CertificateSigned; the pile reconnects and the CSMS sees the NEW certificate
on the new TLS connection, the old pair kept as .old, the new one used after a power cut.
Then the same through
ExtendedTriggerMessage(SignChargePointCertificate). One pile, one CSMS."""
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ocppsim import OcppPile
from upile.csms import Csms, pki


def _pub(cert_or_key):
    return cert_or_key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


def _sign_and_see_it_used(c, pile, csr_pem, files):
    """The CSMS signs the CSR and sends it; the pile's next TLS connection presents it."""
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    names = {a.oid._name: a.value for a in csr.subject}
    assert names == {"organizationName": "uPile CPO", "commonName": "CP3"}
    signed = pki.sign_csr(files, csr_pem)
    conns = pile.p.connections
    assert c.call("CP3", "CertificateSigned", {"certificateChain": signed}) == {"status": "Accepted"}
    c.wait(lambda: pile.p.connections > conns and pile.p.connected, 60, "the reconnect with the new certificate")
    new = x509.load_pem_x509_certificate(signed.encode())
    seen = x509.load_der_x509_certificate(pile.p.peer_cert)
    assert seen.serial_number == new.serial_number and _pub(seen) == _pub(new) == _pub(csr)
    return new


def test_profile_3_renewal_and_trigger_use_the_new_certificate_on_reconnect(tmp_path):
    files = pki.make(tmp_path, host="localhost", cp_serials=("CP3",), cp_days=(300, 20))  # ends in 20 days
    first = files["cp:CP3"].read_bytes()
    first_key = files["cp_key:CP3"].read_bytes()
    cfg = {"ocpp": {"profile": 3, "cpo_name": "uPile CPO", "serial": "CP3"}}
    tls = {"/config/ocpp_ca.der": files["ca"].read_bytes(), "/config/ocpp_cp.der": first,
           "/config/ocpp_cp.key": first_key}
    with Csms(host="localhost", ssl=pki.server_context(files, client_ca=True)) as c:
        with OcppPile(c, "CP3", cfg=cfg, files=tls) as pile:
            assert pile.p.peer_cert == first and pile.p.auth_header is None
            # the renewal: nobody asked, the pile sends SignCertificate once it knows the time
            c.wait(lambda: pile.p.csrs, 90, "the renewal's SignCertificate")
            pile.b.wait_console(r"charge point certificate ends in (19|20) days: renewing", 10)
            renewed = _sign_and_see_it_used(c, pile, pile.p.csrs[0], files)
            assert pile.p.boots == 1  # a reconnect, no reboot
            renewed_der = renewed.public_bytes(serialization.Encoding.DER)
            # on flash: the new pair, the old one beside it; after a power cut the new one is used
            pile.cut()
            got = pile.b.read_files(["/config/ocpp_cp.der", "/config/ocpp_cp.der.old", "/config/ocpp_cp.key",
                                     "/config/ocpp_cp.key.old"])
            assert got["/config/ocpp_cp.der"] == renewed_der
            assert got["/config/ocpp_cp.der.old"] == first and got["/config/ocpp_cp.key.old"] == first_key
            key = serialization.load_der_private_key(got["/config/ocpp_cp.key"], None)
            assert _pub(key) == _pub(renewed)
            pile.on(2)
            assert pile.p.peer_cert == renewed_der
            assert len(pile.p.csrs) == 1  # renewed for a year: not renewed again at this start
            # ExtendedTriggerMessage(SignChargePointCertificate): a new key again, used on reconnect
            assert c.call("CP3", "ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"}) == \
                {"status": "Accepted"}
            c.wait(lambda: len(pile.p.csrs) > 1, 60, "the trigger's SignCertificate")
            third = _sign_and_see_it_used(c, pile, pile.p.csrs[1], files)
            assert _pub(third) != _pub(renewed)
            third_der = third.public_bytes(serialization.Encoding.DER)
            assert pile.p.peer_certs == [first, renewed_der, renewed_der, third_der]  # the TLS connections in order
            assert pile.p.boots == 2
