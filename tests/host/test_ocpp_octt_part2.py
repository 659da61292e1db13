"""OCTT charge-point cases of OCPP part 2 (OCA test case document for OCPP 1.6, FINAL 2024-04,
chapter 2: Diagnostics 2.19 and the security extension 2.24: certificates, security events, the
security log) on the sim board against the bench CSMS. One test per applicable case, named
after it; docs/ocpp.md "OCTT checklist, part 2" maps the others (signed firmware: the
release-server tests of test_ocpp_firmware.py) and says which do not apply and why.

One pile runs the cases in turn, as the cases' prerequisites ask: security profile 3 (wss://,
the pile's client certificate checked by the CSMS), CpoName set. The PKI is made here with
`cryptography`: the CSMS root (the pile's `ocpp.ca`, also installed as a
CentralSystemRootCertificate, so a case may delete another one on wss://), the CSMS's server
certificate, the pile's first client certificate. Log uploads go by HTTPS to a loopback server
holding a certificate of the same root (the pile sends no log in clear over a TLS connection).
"""
import datetime
import hashlib
import http.server
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ocppsim import case_on, OcppPile
from upile import fwsign
from upile.csms import Csms
from upile.csms.sink import Sink

CP = "OC2"
CPO = "uPile OCTT CPO"
PEM, DER = serialization.Encoding.PEM, serialization.Encoding.DER
C_ROOT, M_ROOT = "CentralSystemRootCertificate", "ManufacturerRootCertificate"


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _issue(subject, pub, ca_key, ca_cert, usage, sans=(), days=365):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject).public_key(pub)
         .serial_number(x509.random_serial_number()).not_valid_before(_now() - datetime.timedelta(minutes=5))
         .not_valid_after(_now() + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    return b.sign(ca_key, hashes.SHA256())


def _name(cn, org):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class Pki:
    """The CSMS root, its server certificate (localhost) and the pile's first client certificate."""

    def __init__(self, d):
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = fwsign.make_root(self.ca_key, org="OCTT CSMS", cn="OCTT CSMS Root")
        srv_key = ec.generate_private_key(ec.SECP256R1())
        srv = _issue(_name("localhost", "OCTT CSMS"), srv_key.public_key(), self.ca_key, self.ca,
                     ExtendedKeyUsageOID.SERVER_AUTH, ("localhost",))
        self.server_pem, self.server_key = d / "server.pem", d / "server.key"
        self.server_pem.write_bytes(srv.public_bytes(PEM))
        self.server_key.write_bytes(srv_key.private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
        self.ca_pem = d / "ca.pem"
        self.ca_pem.write_bytes(self.ca.public_bytes(PEM))
        cp_key = ec.generate_private_key(ec.SECP256R1())
        self.cp = _issue(_name(CP, CPO), cp_key.public_key(), self.ca_key, self.ca, ExtendedKeyUsageOID.CLIENT_AUTH)
        self.cp_key = cp_key

    def context(self, client=False):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(self.server_pem), str(self.server_key))
        if client:  # profile 3: the pile's certificate must come from the CSMS root
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(str(self.ca_pem))
        return ctx

    def pile_files(self):
        return {"/config/ocpp_ca.der": self.ca.public_bytes(DER), "/config/ocpp_cp.der": self.cp.public_bytes(DER),
                "/config/ocpp_cp.key": self.cp_key.private_bytes(DER, serialization.PrivateFormat.PKCS8,
                                                                 serialization.NoEncryption())}


class TlsSink(http.server.ThreadingHTTPServer):
    """upile.csms.sink's PUT sink behind TLS (the handshake in the handler's thread)."""

    def __init__(self, ctx):
        super().__init__(("localhost", 0), Sink)
        self.ctx = ctx
        self.lock = threading.Lock()
        self.drops, self.cut, self.got, self.status = 0, 0, [], 201
        threading.Thread(target=self.serve_forever, daemon=True).start()
        self.url = "https://localhost:%d/up/" % self.server_address[1]

    def get_request(self):
        sock, addr = super().get_request()
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


def hash_data(cert):
    """CertificateHashData of a root as the OCTT computes it itself (RFC 6960 style, SHA-256)."""
    pub = cert.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        bits = pub.public_bytes(DER, serialization.PublicFormat.PKCS1)
    else:
        bits = pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"hashAlgorithm": "SHA256", "issuerNameHash": hashlib.sha256(cert.issuer.public_bytes()).hexdigest(),
            "issuerKeyHash": hashlib.sha256(bits).hexdigest(), "serialNumber": "%x" % cert.serial_number}


def _same(a, b):
    return {k: v.lower() for k, v in a.items()} == {k: v.lower() for k, v in b.items()}


def listed(c, kind):
    r = c.call(CP, "GetInstalledCertificateIds", {"certificateType": kind})
    return r["status"], r.get("certificateHashData", [])


def install(c, kind, cert):
    return c.call(CP, "InstallCertificate", {"certificateType": kind,
                                            "certificate": cert.public_bytes(PEM).decode()})["status"]


def delete(c, cert):
    return c.call(CP, "DeleteCertificate", {"certificateHashData": hash_data(cert)})["status"]


def root(kind="ec", cn="OCTT Root", **kw):
    key = rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())
    return fwsign.make_root(key, org="OCTT", cn=cn, **kw)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    pki = Pki(tmp_path_factory.mktemp("octt2"))
    sink = TlsSink(pki.context())
    try:
        with Csms(host="localhost", ssl=pki.context(client=True)) as c:
            cfg = {"ocpp": {"profile": 3, "cpo_name": CPO, "serial": CP}}
            with OcppPile(c, CP, cfg=cfg, files=pki.pile_files()) as pile:
                assert c.url.startswith("wss://") and pile.p.auth_header is None
                assert install(c, C_ROOT, pki.ca) == "Accepted"  # the CSMS root, kept for the whole file
                yield c, pile, pki, sink
    finally:
        sink.shutdown()
        sink.server_close()


@pytest.fixture
def c(env):
    return env[0]


@pytest.fixture
def pki(env):
    return env[2]


@pytest.fixture
def sink(env):
    return env[3]


@pytest.fixture
def pile(env, request):
    with case_on(env[:2], request) as pile:
        yield pile
        assert "Traceback" not in pile.console()


def peer_cert(pile):
    """DER of the client certificate the pile presented on its live connection."""
    return pile.p.ws.transport.get_extra_info("ssl_object").getpeercert(binary_form=True)


def events(pile, kind):
    return [e for e in pile.p.security_events if e["type"] == kind]


def wait_csr(c, pile, n):
    """The pile's n-th SignCertificate (the CSMS answers it Accepted): its CSR."""
    c.wait(lambda: len(pile.p.csrs) >= n, 60, "SignCertificate %d" % n)
    csr = x509.load_pem_x509_csr(pile.p.csrs[n - 1].encode())
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == CPO
    return csr


def trigger_sign(c):
    # connectorId omitted, as the cases send it
    return c.call(CP, "ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"})["status"]


# ---- 2.24.1 certificate management

def _installed_and_listed(c, kind, cert):
    assert install(c, kind, cert) == "Accepted"
    try:
        status, ids = listed(c, kind)
        assert status == "Accepted" and any(_same(h, hash_data(cert)) for h in ids), ids
    finally:
        assert delete(c, cert) == "Accepted"


def test_TC_075_1_CS_install_a_manufacturer_root_certificate(c, pile):
    _installed_and_listed(c, M_ROOT, root("rsa", "OCTT Manufacturer Root"))


def test_TC_075_2_CS_install_a_central_system_root_certificate(c, pile):
    _installed_and_listed(c, C_ROOT, root("ec", "OCTT Central System Root"))


def test_TC_076_CS_delete_a_specific_certificate(c, pile, pki):
    cert = root("rsa", "OCTT Root To Delete")
    assert install(c, C_ROOT, cert) == "Accepted"  # memory state CertificateInstalled
    status, ids = listed(c, C_ROOT)
    assert status == "Accepted" and any(_same(h, hash_data(cert)) for h in ids)
    assert all(h["hashAlgorithm"] == "SHA256" for h in ids)  # the hash the DeleteCertificate below uses
    assert delete(c, cert) == "Accepted"
    status, ids = listed(c, C_ROOT)
    assert not any(_same(h, hash_data(cert)) for h in ids)
    assert any(_same(h, hash_data(pki.ca)) for h in ids)  # only that one went


# ---- 2.24.2 security events and the security log; the charge point certificate

def test_TC_077_CS_invalid_charge_point_certificate_security_event(c, pile):
    n, mine = len(pile.p.csrs), peer_cert(pile)
    assert trigger_sign(c) == "Accepted"
    csr = wait_csr(c, pile, n + 1)
    # signed by a CA the pile does not trust: an invalid certificate for it
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = fwsign.make_root(other_key, org="Not The CSMS", cn="Another CA")
    bad = _issue(csr.subject, csr.public_key(), other_key, other, ExtendedKeyUsageOID.CLIENT_AUTH)
    before = len(events(pile, "InvalidChargePointCertificate"))
    r = c.call(CP, "CertificateSigned", {"certificateChain": bad.public_bytes(PEM).decode()})
    assert r == {"status": "Rejected"}
    c.wait(lambda: len(events(pile, "InvalidChargePointCertificate")) > before, 30,
           "SecurityEventNotification InvalidChargePointCertificate")
    assert pile.p.connected and peer_cert(pile) == mine  # nothing switched


def test_TC_074_CS_update_the_charge_point_certificate_on_request(c, pile, pki):
    n, conns = len(pile.p.csrs), pile.p.connections
    assert trigger_sign(c) == "Accepted"
    csr = wait_csr(c, pile, n + 1)
    new = _issue(csr.subject, csr.public_key(), pki.ca_key, pki.ca, ExtendedKeyUsageOID.CLIENT_AUTH)
    assert new.public_bytes(DER) != peer_cert(pile)
    r = c.call(CP, "CertificateSigned", {"certificateChain": new.public_bytes(PEM).decode()})
    assert r == {"status": "Accepted"}
    # step 7: it disconnects and comes back with the new certificate (a reconnect, not a reboot)
    c.wait(lambda: pile.p.connections > conns and pile.p.connected, 60, "the reconnect")
    assert peer_cert(pile) == new.public_bytes(DER)
    assert pile.p.boots == 1


def test_TC_078_CS_invalid_central_system_certificate_security_event(c, pile):
    expired = root("ec", "OCTT Expired Root", start=_now() - datetime.timedelta(days=400), days=30)
    before = len(events(pile, "InvalidCentralSystemCertificate"))
    assert install(c, C_ROOT, expired) == "Rejected"
    ev = c.wait(lambda: events(pile, "InvalidCentralSystemCertificate")[before:], 30,
                "SecurityEventNotification InvalidCentralSystemCertificate")
    assert "expired" in ev[0].get("techInfo", "")
    assert not any(_same(h, hash_data(expired)) for h in listed(c, C_ROOT)[1])


def test_TC_079_CS_get_security_log(c, pile, sink):
    r = c.call(CP, "GetLog", {"logType": "SecurityLog", "requestId": 79, "log": {"remoteLocation": sink.url}})
    assert r == {"status": "Accepted", "filename": "%s-security-79.log" % CP}
    st = lambda: [p["status"] for p in pile.p.log_statuses if p.get("requestId") == 79]  # noqa: E731
    c.wait(lambda: "Uploaded" in st(), 60, "LogStatusNotification Uploaded")
    assert st() == ["Uploading", "Uploaded"]
    path, body = sink.got[-1]
    assert path == "/up/%s-security-79.log" % CP  # at the remoteLocation the CSMS gave
    assert b"StartupOfTheDevice" in body


# ---- 2.19 Diagnostics

def _diag(pile):
    return [p["status"] for p in pile.p.diag_statuses]


def test_TC_045_1_CS_get_diagnostics(c, pile, sink):
    n = len(_diag(pile))
    r = c.call(CP, "GetDiagnostics", {"location": sink.url})
    name = r["fileName"]
    assert name.startswith("%s-diagnostics-" % CP)
    c.wait(lambda: "Uploaded" in _diag(pile)[n:], 60, "DiagnosticsStatusNotification Uploaded")
    assert _diag(pile)[n:] == ["Uploading", "Uploaded"]
    path, body = sink.got[-1]
    assert path == "/up/" + name
    assert ("connected to the CSMS as %s" % CP).encode() in body


def test_TC_045_2_CS_get_diagnostics_upload_failed(c, pile):
    # the case's own location: FTP, for which the pile has no client
    n = len(_diag(pile))
    r = c.call(CP, "GetDiagnostics", {"location": "ftp://127.0.0.1:21/files/failedLocation", "retries": 0})
    assert r["fileName"].startswith("%s-diagnostics-" % CP)
    c.wait(lambda: "UploadFailed" in _diag(pile)[n:], 30, "DiagnosticsStatusNotification UploadFailed")
    assert _diag(pile)[n:] == ["Uploading", "UploadFailed"]
    # and an HTTPS location where nothing listens: the upload itself fails
    n = len(_diag(pile))
    c.call(CP, "GetDiagnostics", {"location": "https://localhost:1/files/", "retries": 0})
    c.wait(lambda: "UploadFailed" in _diag(pile)[n:], 60, "DiagnosticsStatusNotification UploadFailed")
    assert _diag(pile)[n:] == ["Uploading", "UploadFailed"]
    # it continues normal operation
    beats = pile.p.heartbeats
    assert c.call(CP, "TriggerMessage", {"requestedMessage": "Heartbeat"})["status"] == "Accepted"
    c.wait(lambda: pile.p.heartbeats > beats, 30, "a Heartbeat")
