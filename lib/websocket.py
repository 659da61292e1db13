"""RFC 6455 WebSocket client for asyncio, the OCPP 1.6J transport (docs/websocket.md):
connect() makes the opening handshake over ws:// or verified wss:// (lib/netconn.py) and
returns a wsconn.WebSocket: send(), recv(), ping(), close(), abort(), closed.

The handshake offers subprotocols of which the server must select one, sends HTTP Basic
credentials when given, and checks the 101 status, Upgrade, Connection and
Sec-WebSocket-Accept. connect() raises WSError(reason, detail, status): bad_url, connect,
tls, timeout, io, status (the server answered HTTP `status`, not 101: 401, 404, 5xx, and
redirects, which are not followed), bad_handshake, subprotocol.

This file shadows MicroPython's built-in `websocket` framing helper (an extensible module:
sys.path comes first); the built-in stays importable as `uwebsocket`.
"""
import asyncio
import binascii
import os

from wsconn import WebSocket
from wsframe import (NORMAL, GOING_AWAY, PROTOCOL_ERROR, INVALID_DATA, TOO_BIG, INTERNAL_ERROR,  # noqa: F401
                     ABNORMAL, MAX_SIZE, BUFSIZE, ConnectionClosed, close_now)

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_SCHEMES = {"wss://": (True, 443), "ws://": (False, 80)}
_HEAD = (b"upgrade", b"connection", b"sec-websocket-accept", b"sec-websocket-protocol",
         b"sec-websocket-extensions", b"location")


class WSError(Exception):
    """The connection could not be opened: args = (reason, detail); `status` for "status"."""

    def __init__(self, reason, detail="", status=0):
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail
        self.status = status


def quote(s):
    """`s` percent-encoded as one URL path segment (RFC 3986: unreserved bytes stay), for
    the charge point id in an OCPP URL: endpoint + "/" + quote(id)."""
    out = []
    for b in s.encode():
        if 48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122 or b in b"-._~":
            out.append(chr(b))
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def _text(b):
    try:
        return b.decode()
    except UnicodeError:  # the server's bytes, whatever they are, end in a WSError
        return repr(b)


async def _exchange(r, w, req, buf, mv):
    """Send the request, read the response head (up to len(buf) bytes) -> (end of head
    or -1, bytes read)."""
    w.write(req)
    await w.drain()
    end = 0
    while True:
        i = buf.find(b"\r\n\r\n", 0, end)
        if i >= 0 or end == len(buf):
            return i, end
        k = await r.readinto(mv[end:])
        if k == 0:
            return -1, end
        end += k or 0  # None: TLS wanted more records


async def _handshake(r, w, timeout, bufsize, netconn, host, port, tls, path, protocols, auth):
    """-> (the selected subprotocol, bytes that came after the response head or None)."""
    key = binascii.b2a_base64(os.urandom(16))[:-1]
    req = "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" % (
        path, host if port == (443 if tls else 80) else "%s:%d" % (host, port))
    req += "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % key.decode()
    if protocols:
        req += "Sec-WebSocket-Protocol: %s\r\n" % ", ".join(protocols)
    if auth:
        user, pw = auth
        cred = user.encode() + b":" + (pw.encode() if isinstance(pw, str) else pw)
        req += "Authorization: Basic %s\r\n" % binascii.b2a_base64(cred)[:-1].decode()
    buf = bytearray(bufsize)
    mv = memoryview(buf)
    try:
        i, end = await asyncio.wait_for(_exchange(r, w, (req + "\r\n").encode(), buf, mv), timeout)
    except asyncio.TimeoutError:
        raise WSError("timeout", "no handshake response in %s s" % timeout)
    except (OSError, ValueError) as e:
        raise netconn.io_error(e, "handshake", WSError)
    lines = bytes(mv[: i if i >= 0 else end]).split(b"\r\n")
    parts = lines[0].split(None, 2)
    if (i < 0 and len(lines) < 2) or len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise WSError("bad_handshake", "status line %r" % lines[0][:40])
    try:
        status = int(parts[1])
    except ValueError:
        raise WSError("bad_handshake", "status %r" % parts[1][:10])
    hd = {}
    for line in lines[1:] if i >= 0 else lines[1:-1]:
        j = line.find(b":")
        if j <= 0:
            raise WSError("bad_handshake", "header %r" % line[:40])
        name = line[:j].strip().lower()
        if name in _HEAD:
            v = line[j + 1 :].strip()
            hd[name] = hd[name] + b", " + v if name in hd else v
    if status != 101:
        if 300 <= status < 400:  # a redirect would take the credentials to another URL
            raise WSError("status", "HTTP %d to %s, not followed: fix the configured URL" % (
                status, _text(hd.get(b"location", b"?"))), status)
        raise WSError("status", "HTTP %d %s" % (status, _text(parts[2] if len(parts) > 2 else b"")), status)
    if i < 0:
        raise WSError("bad_handshake", "101 response head longer than %d bytes" % len(buf))
    import hashlib

    accept = binascii.b2a_base64(hashlib.sha1(key + _GUID).digest())[:-1]
    conn = [t.strip().lower() for t in hd.get(b"connection", b"").split(b",")]
    if hd.get(b"upgrade", b"").lower() != b"websocket" or b"upgrade" not in conn:
        raise WSError("bad_handshake", "101 without Upgrade: websocket / Connection: Upgrade")
    if hd.get(b"sec-websocket-accept") != accept:
        raise WSError("bad_handshake", "Sec-WebSocket-Accept %r, expected %r" % (hd.get(b"sec-websocket-accept"), accept))
    if b"sec-websocket-extensions" in hd:
        raise WSError("bad_handshake", "extension %r that was not offered" % hd[b"sec-websocket-extensions"][:40])
    sel = hd.get(b"sec-websocket-protocol")
    sel = _text(sel) if sel is not None else None
    if (sel is None and protocols) or (sel is not None and sel not in protocols):
        raise WSError("subprotocol", "server selected %s, offered %s" % (
            "none" if sel is None else repr(sel), ", ".join(protocols) or "none"))
    return sel, bytes(mv[i + 4 : end]) if end > i + 4 else None


async def connect(url, protocols=("ocpp1.6",), *, cadata=None, ctx=None, cert=None, key=None,
                  auth=None, timeout=10, max_size=MAX_SIZE, bufsize=BUFSIZE):
    """Open a WebSocket to `url` (ws:// or wss://, path percent-encoded: quote()),
    offering `protocols` (the server must select one; () offers none). wss:// is verified
    against `cadata` (a CA, DER or PEM, or an iterable of them) or a ready `ctx`; cert, key:
    a client certificate (OCPP security profile 3); auth = (user, password bytes): HTTP Basic (profiles 1, 2).
    timeout (s): connect, handshake, every read or write inside a frame, the close.
    max_size: the longest message accepted. Raises WSError."""
    import netconn

    if isinstance(protocols, str):
        protocols = (protocols,)
    if auth and ":" in auth[0]:  # RFC 7617: the user id ends at the first colon
        raise ValueError("user id %r contains ':'" % auth[0])
    tls, host, port, path = netconn.split_url(url, _SCHEMES, WSError)
    if tls and ctx is None:
        if cadata is None:
            raise WSError("tls", "wss:// needs a CA certificate (none configured)")
        ctx = netconn.tls_context(cadata, WSError, cert, key)
    r, w = await netconn.connect(host, port, ctx if tls else None, timeout, WSError)
    try:
        sel, pend = await _handshake(r, w, timeout, bufsize, netconn, host, port, tls, path, protocols, auth)
    except BaseException:  # any failure, a cancel included, closes the socket
        close_now(w)
        raise
    return WebSocket(r, w, timeout, max_size, bufsize, protocol=sel, pending=pend)
