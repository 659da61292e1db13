"""lib/http.py under micropython against CPython servers on loopback: chunked bodies,
redirects (bounded, with a long Location), header lines too long, status errors, and TLS
verified against a CA made here."""
import datetime
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mpy import run_mpy

SCRIPT = r'''
import asyncio, sys, http
port, tls_port, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
cadata = open(ca, "rb").read()
async def body(url, **kw):
    try:
        r = await http.get(url, timeout=3, **kw)
    except http.HTTPError as e:
        return "ERR " + e.reason
    out = await r.read(100000)
    await r.close()
    return "OK %d %d" % (r.status, len(out))
async def main():
    base = "http://127.0.0.1:%d" % port
    print("chunked", await body(base + "/chunked", allow_http=True))
    print("redirect", await body(base + "/r1", allow_http=True))
    print("loop", await body(base + "/loop", allow_http=True))
    print("long_line", await body(base + "/long", allow_http=True))
    print("too_long", await body(base + "/toolong", allow_http=True))
    print("missing", await body(base + "/404", allow_http=True))
    print("insecure", await body(base + "/chunked"))
    print("tls_good", await body("https://localhost:%d/chunked" % tls_port, cadata=cadata))
    print("tls_badhost", await body("https://127.0.0.1:%d/chunked" % tls_port, cadata=cadata))
asyncio.run(main())
'''


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path in ("/long", "/toolong"):  # a 900-byte header line is fine, 1500 is not
            self.send_response(302)
            self.send_header("Location", "/chunked?" + "q" * (900 if self.path == "/long" else 1500))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for n in (5, 3000, 17):
                self.wfile.write(b"%x\r\n" % n + b"x" * n + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path in ("/r1", "/loop"):
            self.send_response(302)
            self.send_header("Location", "/chunked" if self.path == "/r1" else "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(404)
        self.close_connection = True


def _certs(d):
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "uPile test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (d / "ca.der").write_bytes(ca.public_bytes(serialization.Encoding.DER))
    (d / "srv.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "srv.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))


def _serve(srv):
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def test_http_client_chunked_redirects_errors_and_verified_tls(tmp_path):
    _certs(tmp_path)
    plain = ThreadingHTTPServer(("127.0.0.1", 0), H)
    secure = ThreadingHTTPServer(("127.0.0.1", 0), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "srv.pem", tmp_path / "srv.key")
    secure.socket = ctx.wrap_socket(secure.socket, server_side=True)
    try:
        p = run_mpy("-c " + SCRIPT, _serve(plain), _serve(secure), tmp_path / "ca.der", timeout=60)
    finally:
        plain.shutdown()
        secure.shutdown()
    out = dict(line.split(" ", 1) for line in p.stdout.splitlines() if " " in line)
    assert out == {
        "chunked": "OK 200 3022",
        "redirect": "OK 200 3022",
        "loop": "ERR redirects",
        "long_line": "OK 200 3022",
        "too_long": "ERR bad_response",
        "missing": "ERR status",
        "insecure": "ERR insecure",
        "tls_good": "OK 200 3022",
        "tls_badhost": "ERR tls",
    }, p.stdout + p.stderr
