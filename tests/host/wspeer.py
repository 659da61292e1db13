"""WebSocket peers for the lib/websocket.py host tests, on loopback in threads.

WsServer: the `websockets` package's asyncio server (an independent RFC 6455 implementation,
the one the `ocpp` package's CSMS runs on). What it does depends on the path's first
segment: echo, close/<code>, ping (pings the client, says whether the pong came), send/<n>
(a text of n bytes); the last segment is the charge point id, unknown unless it starts
with "CP" (HTTP 404, as a CSMS answers [OCPP-J 3.4 errata]). `auth` = (user, password
bytes) makes it demand HTTP Basic (401 otherwise). It records what each connection saw.

RawServer: a server on a bare socket that breaks the protocol on purpose: `script(path)`
says what to answer and send (see RawServer.__doc__).

pki(d): a test CA, a server certificate for "localhost" (CN and SAN), a client CA and a
client certificate (OCPP security profile 3), written DER (the client) and PEM (the servers).
"""
import asyncio
import base64
import datetime
import hashlib
import socket
import struct
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WsServer:
    def __init__(self, auth=None, **kw):
        self.auth = auth
        self.kw = dict(compression=None, **kw)
        self.log = []  # (path, what, detail)
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        if not self.ready.wait(20):
            raise RuntimeError("websockets server did not start")
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(20)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.loop.run_forever()

    async def _start(self):
        self.server = await serve(self._handler, "127.0.0.1", 0, process_request=self._request, **self.kw)
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()

    async def _stop(self):
        self.server.close()
        await self.server.wait_closed()

    def record(self, path, what, detail=None):
        with self.lock:
            self.log.append((path, what, detail))

    def seen(self, path, what):
        with self.lock:
            return [d for p, w, d in self.log if p == path and w == what]

    def wait(self, path, what, timeout=20):
        """The first `what` recorded for `path`, waiting for it up to `timeout` s."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = self.seen(path, what)
            if got:
                return got[0]
            time.sleep(0.01)
        raise AssertionError("server never recorded %s for %s: %r" % (what, path, self.log))

    def _request(self, conn, request):
        self.record(request.path, "request", dict(request.headers.raw_items()))
        if not request.path.rsplit("/", 1)[-1].startswith("CP"):
            return conn.respond(404, "Unknown charge point\n")
        if self.auth:
            user, pw = self.auth
            want = "Basic " + base64.b64encode(user.encode() + b":" + pw).decode()
            if request.headers.get("Authorization") != want:
                r = conn.respond(401, "Unauthorized\n")
                r.headers["WWW-Authenticate"] = 'Basic realm="ocpp"'
                return r
        return None

    async def _handler(self, ws):
        path = ws.request.path
        kind = path.split("/")[1]
        self.record(path, "open", ws.subprotocol)
        try:
            if kind == "close":
                await ws.close(int(path.split("/")[2]), "server says bye")
            elif kind == "ping":
                waiter = await ws.ping(b"srv-ping")
                try:
                    await asyncio.wait_for(waiter, 10)
                    await ws.send("pong came")
                except asyncio.TimeoutError:
                    await ws.send("no pong")
            elif kind == "send":
                await ws.send("s" * int(path.split("/")[2]))
            async for m in ws:
                self.record(path, "message", len(m))
                await ws.send(m)
        except ConnectionClosed:
            pass
        self.record(path, "closed", (ws.close_code, ws.close_reason))


def accept(key):
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def server_frame(op, payload=b"", fin=True, rsv=0, mask=None, length=None):
    n = len(payload) if length is None else length
    m = 0x80 if mask else 0
    b0 = (0x80 if fin else 0) | rsv | op
    if n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if mask:
        payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        head += mask
    return head + payload


def client_frames(data):
    """Whole client frames in `data` -> ([(opcode, payload)], bytes left over); each must
    be masked."""
    out, i = [], 0
    while len(data) - i >= 2:
        b0, b1 = data[i], data[i + 1]
        n, j = b1 & 127, i + 2
        if n == 126:
            if len(data) < j + 2:
                break
            n, j = struct.unpack_from("!H", data, j)[0], j + 2
        elif n == 127:
            if len(data) < j + 8:
                break
            n, j = struct.unpack_from("!Q", data, j)[0], j + 8
        if not b1 & 0x80:
            raise AssertionError("client frame not masked")
        if len(data) < j + 4 + n:
            break
        key = data[j : j + 4]
        out.append((b0 & 15, bytes(b ^ key[k & 3] for k, b in enumerate(data[j + 4 : j + 4 + n]))))
        i = j + 4 + n
    return out, data[i:]


class RawServer:
    """script(path) -> (head, body, drop): `head` the HTTP response (None: a proper 101 for
    ocpp1.6), `body` bytes sent right after it; `drop` True closes at once (a connection
    lost inside a frame), "half" ends the sending side only. Then the server reads the
    client's frames until its close frame, EOF or 20 s, records the close code in
    `closes[path]` (None: a close frame without one), then closes."""

    def __init__(self, script):
        self.script = script
        self.closes = {}
        self.requests = {}
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(20)

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        with c:
            c.settimeout(20)
            req = b""
            while b"\r\n\r\n" not in req:
                d = c.recv(4096)
                if not d:
                    return
                req += d
            lines = req.split(b"\r\n")
            path = lines[0].split()[1].decode()
            hdrs = dict(l.split(b": ", 1) for l in lines[1:] if b": " in l)
            self.requests[path] = hdrs
            head, body, drop = self.script(path)
            if head is None:
                head = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        b"Sec-WebSocket-Accept: " + accept(hdrs[b"Sec-WebSocket-Key"]) + b"\r\n"
                        b"Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n")
            try:
                c.sendall(head + body)
            except OSError:  # the client may already have failed and closed
                pass
            if drop is True:
                return
            if drop == "half":
                c.shutdown(socket.SHUT_WR)
            got = b""
            codes = self.closes.setdefault(path, [])
            while True:
                try:
                    d = c.recv(65536)
                except OSError:
                    return
                if not d:
                    return
                got += d
                frames, got = client_frames(got)
                for op, p in frames:
                    if op == 8:
                        codes.append(struct.unpack("!H", p[:2])[0] if len(p) >= 2 else None)
                        return


def pki(d):
    now = datetime.datetime.now(datetime.timezone.utc)

    def cert(name, key, issuer, issuer_key, ca, san=None):
        b = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write(stem, c, k):
        (d / (stem + ".der")).write_bytes(c.public_bytes(serialization.Encoding.DER))
        (d / (stem + ".pem")).write_bytes(c.public_bytes(serialization.Encoding.PEM))
        if k is not None:
            (d / (stem + ".key.der")).write_bytes(k.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
            (d / (stem + ".key.pem")).write_bytes(k.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    ca_k, cca_k, srv_k, cli_k = (ec.generate_private_key(ec.SECP256R1()) for _ in range(4))
    ca = cert(name("uPile test CSMS root"), ca_k, name("uPile test CSMS root"), ca_k, True)
    cca = cert(name("uPile test CP CA"), cca_k, name("uPile test CP CA"), cca_k, True)
    write("ca", ca, None)
    write("cpca", cca, None)
    write("server", cert(name("localhost"), srv_k, ca.subject, ca_k, False, "localhost"), srv_k)
    write("client", cert(name("CP0001"), cli_k, cca.subject, cca_k, False), cli_k)
