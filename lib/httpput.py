"""HTTP PUT (or POST) of a streamed body with a Content-Length: the log upload of OCPP's
GetLog (firmware/proto/ocpp/logup.py). Beside lib/http.py, not in it: an OTA download imports
http into a 64K heap where every function's bytecode counts (docs/ota.md "Memory"); this uses
its response reader."""
import http
import netconn
from http import HTTPError


async def put(url, length, body, *, method="PUT", ctype="text/plain", timeout=10, cadata=None, ctx=None,
              allow_http=False):
    """Upload `length` bytes to `url` (PUT, or another method) with a Content-Length: `body`
    is an async function given `send` (await send(bytes)) that must send exactly `length`
    bytes, streamed (nothing accumulates). Returns the status (2xx); raises HTTPError
    (status for any other answer, short_body when body sent another length). No redirects:
    a body cannot be sent twice."""
    tls, host, port, path = netconn.split_url(url, http._SCHEMES, HTTPError)
    if not tls and not allow_http:
        raise HTTPError("insecure", "plain http not allowed: " + url)
    if tls and ctx is None:
        if cadata is None:
            raise HTTPError("tls", "https needs a CA certificate (none configured)")
        ctx = netconn.tls_context(cadata, HTTPError)
    reader, writer = await netconn.connect(host, port, ctx if tls else None, timeout, HTTPError)
    conn = http.Response(reader, writer, timeout)
    sent = [0]

    async def send(data):
        sent[0] += len(data)
        await conn.send(data)

    try:
        await conn.send(("%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nUser-Agent: uPile\r\n"
                         "Content-Type: %s\r\nContent-Length: %d\r\n\r\n" % (method, path, host, ctype, length)).encode())
        await body(send)
        if sent[0] != length:
            raise HTTPError("short_body", "sent %d of %d bytes" % (sent[0], length))
        status, _ = await http._head(conn)
        if not 200 <= status < 300:
            raise HTTPError("status", "%d from %s" % (status, url), status)
        return status
    finally:
        await conn.close()
