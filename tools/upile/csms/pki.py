"""A test PKI for the bench CSMS (`cryptography`): a CSMS root, the CSMS's server certificate
(host name in CN and SAN: Python's ssl checks the SAN, the OCPP security whitepaper the CN),
a charge point CA and charge point certificates for security profile 3 (CN = the charge
point's serial number, whitepaper A00.FR.306). EC P-256 and SHA-256 throughout (whitepaper
2.4-2.6: EC >= 224 bits). Files DER and PEM; the pile takes either (lib/netconn.py).
"""
import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(cn, org="uPile bench"):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, key, issuer, issuer_key, ca, sans=(), days=(1, 365), usage=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=days[0]))
         .not_valid_after(now + datetime.timedelta(days=days[1]))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    names = []
    for s in sans:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(s)))
        except ValueError:
            names.append(x509.DNSName(s))
    if names:
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if usage:
        b = b.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _write(d, stem, cert, key=None):
    (d / (stem + ".der")).write_bytes(cert.public_bytes(serialization.Encoding.DER))
    (d / (stem + ".pem")).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        (d / (stem + ".key.der")).write_bytes(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (d / (stem + ".key.pem")).write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def make(d, host="localhost", cp_serials=("CP0001",), server_days=(1, 365), cp_days=(1, 365)):
    """Write the PKI into folder d; returns {name: path} of the files a test needs:
    ca (CSMS root, DER; ca_pem, ca_key PEM: it signs charge point CSRs, sign_csr), server/
    server_key (PEM, for the CSMS), cpca (PEM, the CSMS trusts it for client certificates),
    cp:<serial> / cp_key:<serial> (DER, for the pile; valid cp_days = (days before now, after))."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    ca_k = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(_name("uPile bench CSMS root"), ca_k, _name("uPile bench CSMS root"), ca_k, True)
    _write(d, "ca", ca)
    (d / "ca.key.pem").write_bytes(ca_k.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    srv_k = ec.generate_private_key(ec.SECP256R1())
    srv = _cert(_name(host), srv_k, ca.subject, ca_k, False, (host,), server_days, [ExtendedKeyUsageOID.SERVER_AUTH])
    _write(d, "server", srv, srv_k)
    cca_k = ec.generate_private_key(ec.SECP256R1())
    cca = _cert(_name("uPile bench CP CA"), cca_k, _name("uPile bench CP CA"), cca_k, True)
    _write(d, "cpca", cca)
    out = {"ca": d / "ca.der", "ca_pem": d / "ca.pem", "ca_key": d / "ca.key.pem", "server": d / "server.pem",
           "server_key": d / "server.key.pem", "cpca": d / "cpca.pem"}
    for serial in cp_serials:
        k = ec.generate_private_key(ec.SECP256R1())
        c = _cert(_name(serial, "uPile"), k, cca.subject, cca_k, False, (), cp_days, [ExtendedKeyUsageOID.CLIENT_AUTH])
        _write(d, "cp-" + serial, c, k)
        out["cp:" + serial] = d / ("cp-%s.der" % serial)
        out["cp_key:" + serial] = d / ("cp-%s.key.der" % serial)
    return out


def sign_csr(files, csr_pem, days=365):
    """The CSMS root signs a charge point's CSR (SignCertificate -> CertificateSigned): the
    PEM of a clientAuth certificate for the CSR's subject and key, valid from 5 minutes ago.
    Raises ValueError for a CSR whose signature is wrong."""
    csr = x509.load_pem_x509_csr(csr_pem.encode() if isinstance(csr_pem, str) else csr_pem)
    if not csr.is_signature_valid:
        raise ValueError("CSR signature invalid")
    ca = x509.load_der_x509_certificate(Path(files["ca"]).read_bytes())
    ca_k = serialization.load_pem_private_key(Path(files["ca_key"]).read_bytes(), None)
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    c = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca.subject).public_key(csr.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(start)
         .not_valid_after(start + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
         .sign(ca_k, hashes.SHA256()))
    return c.public_bytes(serialization.Encoding.PEM).decode()


def server_context(files, client_ca=False):
    """An ssl context for the CSMS (TLS >= 1.2; with client_ca, profile 3: a client
    certificate from the CP CA, or one the CSMS root signed (sign_csr), is required)."""
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(files["server"]), str(files["server_key"]))
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(str(files["cpca"]))
        if "ca_pem" in files:
            ctx.load_verify_locations(str(files["ca_pem"]))
    return ctx
