"""The pile's own key pair and certificate (security profile 3's), end to end on the sim board
against `upile csms` (docs/ocpp.md "Part 2: the charge point certificate"): the CSMS installs
its root (InstallCertificate), triggers SignChargePointCertificate, signs the pile's CSR with
`cryptography`, sends CertificateSigned; the pile checks the chain and switches its
certificate and key files. A certificate for another key, or from a CA the pile does not
trust, is Rejected."""
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ocppsim import OcppPile
from upile import fwsign
from upile.csms import Csms


def _ca(name):
    k = ec.generate_private_key(ec.SECP256R1())
    return k, fwsign.make_root(k, org="CSMS Test", cn=name)


def _issue(csr_pem, ca_key, ca_cert, days=365, start=None):
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    start = start or datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    c = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca_cert.subject)
         .public_key(csr.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .sign(ca_key, hashes.SHA256()))
    return c.public_bytes(serialization.Encoding.PEM).decode()


def test_key_made_on_the_pile_csr_signed_chain_checked_and_switched():
    ca_key, ca = _ca("CSMS Root")
    other_key, other = _ca("Someone Else")
    with Csms() as c:
        with OcppPile(c, "CS1", cfg={"ocpp": {"cpo_name": "uPile CPO", "serial": "SN-0042"}}) as pile:
            ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
            assert c.call("CS1", "InstallCertificate", {"certificateType": "CentralSystemRootCertificate",
                                                       "certificate": ca_pem}) == {"status": "Accepted"}
            assert c.call("CS1", "ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"}) == \
                {"status": "Accepted"}
            c.wait(lambda: pile.p.csrs, 60, "the CSR")
            csr = x509.load_pem_x509_csr(pile.p.csrs[0].encode())
            assert csr.is_signature_valid and isinstance(csr.public_key(), ec.EllipticCurvePublicKey)
            names = {a.oid._name: a.value for a in csr.subject}
            assert names == {"organizationName": "uPile CPO", "commonName": "SN-0042"}
            # from a CA the pile does not trust: refused, nothing switched
            bad = _issue(pile.p.csrs[0], other_key, other)
            assert c.call("CS1", "CertificateSigned", {"certificateChain": bad}) == {"status": "Rejected"}
            # for another key (a CSR the pile did not make): refused
            stranger = ec.generate_private_key(ec.SECP256R1())
            fake_csr = (x509.CertificateSigningRequestBuilder().subject_name(csr.subject)
                        .sign(stranger, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
            assert c.call("CS1", "CertificateSigned", {"certificateChain": _issue(fake_csr, ca_key, ca)}) == \
                {"status": "Rejected"}
            good = _issue(pile.p.csrs[0], ca_key, ca)
            assert c.call("CS1", "CertificateSigned", {"certificateChain": good}) == {"status": "Accepted"}
            pile.b.wait_console(r"charge point certificate switched", 30)
            out = pile.b.exec("print(open('/config/ocpp_cp.der','rb').read().hex())\n"
                              "print(open('/config/ocpp_cp.key','rb').read().hex())", timeout=20).split()
            cert = x509.load_der_x509_certificate(bytes.fromhex(out[0]))
            key = serialization.load_der_private_key(bytes.fromhex(out[1]), None)
            assert cert.public_key().public_numbers() == key.public_key().public_numbers()
            assert cert.public_key().public_numbers() == csr.public_key().public_numbers()
            cert.verify_directly_issued_by(ca)
