"""Small asyncio HTTP/1.1 client: GET (with Range), body streamed into the caller's buffer.

Why our own: the frozen `requests` hard-codes CERT_NONE, rejects chunked bodies and reads
whole responses into RAM (PLATFORM.md). Here one request uses one connection
(`Connection: close`), the body never accumulates (readinto / fill), every read has a
timeout, TLS is verified against a CA given by the caller, and every failure is an
HTTPError with a named reason:
  bad_url, insecure (plain http not allowed), connect, tls, timeout, io, bad_response,
  status (.status holds the code), redirects (too many / loop), no_range (server ignored
  Range), bad_range (Content-Range not what was asked), too_large, short_body.
Connecting, TLS and the I/O error mapping are lib/netconn.py's (shared with lib/websocket.py).
"""
import asyncio
from micropython import const

import netconn

_LINE = const(1024)  # longest status/header/chunk-size line accepted
_LINE0 = const(256)  # the line buffer's first size, grown to _LINE only for a longer line
_MAX_HEADERS = const(48)
_REDIRECTS = (301, 302, 303, 307, 308)
# the headers a Response keeps (the others are read and dropped: a response lives as long
# as its download, and a server may send many)
_KEEP = ("content-length", "transfer-encoding", "content-range", "location")
_SCHEMES = {"https://": (True, 443), "http://": (False, 80)}


class HTTPError(Exception):
    """args = (reason, detail); `status` is the HTTP status for reason "status"."""

    def __init__(self, reason, detail="", status=0):
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail
        self.status = status


def _resolve(base, loc):
    if loc.startswith("http://") or loc.startswith("https://"):
        return loc
    tls, host, port, path = netconn.split_url(base, _SCHEMES, HTTPError)
    root = ("https://" if tls else "http://") + host + ":" + str(port)
    if loc.startswith("/"):
        return root + loc
    return root + path[: path.rfind("/") + 1] + loc


class Response:
    """One request's connection and, once its head is read, the response: status and the
    few headers we use (`headers`: those in _KEEP); the body is read with readinto()/fill()/read(). A small read-ahead
    buffer serves header lines; every I/O has a timeout."""

    def __init__(self, reader, writer, timeout):
        self.r = reader
        self.w = writer
        self.t = timeout
        self.buf = bytearray(_LINE0)  # header lines and read-ahead: small, as it lives as
        self.mv = memoryview(self.buf)  # long as the response, next to the caller's buffer
        self.pos = 0
        self.end = 0

    async def _io(self, aw, what):
        try:
            return await asyncio.wait_for(aw, self.t)
        except asyncio.TimeoutError:
            raise HTTPError("timeout", "%s: nothing for %s s" % (what, self.t))
        except (OSError, ValueError) as e:
            raise netconn.io_error(e, what, HTTPError)

    async def send(self, data):
        try:
            self.w.write(data)  # asyncio writes at once when it can: may drive the TLS handshake
        except (OSError, ValueError) as e:
            raise netconn.io_error(e, "send", HTTPError)
        await self._io(self.w.drain(), "send")

    async def _recv(self, mv):
        while True:
            n = await self._io(self.r.readinto(mv), "read")
            if n is not None:  # None: TLS wanted more records; wait again
                return n

    async def _raw(self, mv):
        """Up to len(mv) bytes of the stream, buffered ones first; 0 at EOF."""
        if self.pos < self.end:
            n = min(len(mv), self.end - self.pos)
            mv[:n] = self.mv[self.pos : self.pos + n]
            self.pos += n
            return n
        return await self._recv(mv)

    async def readline(self):
        """One line without CRLF as bytes; raises bad_response if too long or at EOF."""
        while True:
            i = self.buf.find(b"\n", self.pos, self.end)
            if i >= 0:
                line = bytes(self.mv[self.pos : i])
                self.pos = i + 1
                return line[:-1] if line.endswith(b"\r") else line
            if self.pos:
                n = self.end - self.pos
                self.mv[:n] = self.mv[self.pos : self.end]
                self.pos, self.end = 0, n
            if self.end >= len(self.buf):
                if self.end >= _LINE:
                    raise HTTPError("bad_response", "line longer than %d bytes" % _LINE)
                big = bytearray(_LINE)
                big[: self.end] = self.mv[: self.end]
                self.buf, self.mv = big, memoryview(big)
            n = await self._recv(self.mv[self.end :])
            if not n:
                raise HTTPError("bad_response", "connection closed in the header")
            self.end += n

    def _start(self, url, status, headers, limit):
        """The response's head has been read: what the body reads need to know."""
        self.url = url
        self.status = status
        self.headers = headers
        self.got = 0
        self._limit = limit
        self._done = False
        self.chunked = headers.get("transfer-encoding", "").lower().find("chunked") >= 0
        self.length = None  # Content-Length when given (ignored with chunked, as RFC 9112 says)
        if not self.chunked and "content-length" in headers:
            try:
                self.length = int(headers["content-length"])
            except ValueError:
                raise HTTPError("bad_response", "Content-Length %r" % headers["content-length"])
            if self.length < 0:
                raise HTTPError("bad_response", "negative Content-Length")
            if limit is not None and self.length > limit:
                raise HTTPError("too_large", "Content-Length %d above %d" % (self.length, limit))
        self._chunk = 0

    async def _next_chunk(self):
        line = await self.readline()
        try:
            self._chunk = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise HTTPError("bad_response", "chunk size %r" % line[:20])
        if self._chunk == 0:
            while await self.readline():  # trailers end with an empty line
                pass
            self._done = True

    async def readinto(self, buf):
        """Read up to len(buf) body bytes into buf; returns 0 at the end of the body."""
        if self._done:
            return 0
        mv = memoryview(buf)
        if self.chunked:
            if self._chunk == 0:
                await self._next_chunk()
                if self._done:
                    return 0
            want = min(len(mv), self._chunk)
        elif self.length is not None:
            want = min(len(mv), self.length - self.got)
            if want == 0:
                self._done = True
                return 0
        else:
            want = len(mv)
        n = await self._raw(mv[:want])
        if n == 0:
            if self.chunked or self.length is not None:
                raise HTTPError("short_body", "closed after %d body bytes" % self.got)
            self._done = True
            return 0
        self.got += n
        if self.chunked:
            self._chunk -= n
            if self._chunk == 0 and await self.readline():
                raise HTTPError("bad_response", "no CRLF after chunk")
        if self._limit is not None and self.got > self._limit:
            raise HTTPError("too_large", "body longer than %d bytes" % self._limit)
        return n

    async def fill(self, buf):
        """Fill buf completely unless the body ends first; returns the byte count."""
        mv = memoryview(buf)
        n = 0
        while n < len(mv):
            k = await self.readinto(mv[n:])
            if not k:
                break
            n += k
        return n

    async def read(self, limit):
        """The whole body (bytes-like): for small documents only (at most `limit` bytes)."""
        self._limit = limit if self._limit is None else min(limit, self._limit)
        if self.length is not None:  # one allocation of the announced size: no regrowth
            out = bytearray(self.length)
            if await self.fill(out) != self.length:
                raise HTTPError("short_body", "closed after %d body bytes" % self.got)
            return out
        out = bytearray()
        chunk = bytearray(512)
        while True:
            n = await self.readinto(chunk)
            if not n:
                return bytes(out)
            out.extend(memoryview(chunk)[:n])

    async def close(self):
        try:
            self.w.close()
            await asyncio.wait_for(self.w.wait_closed(), 2)
        except (OSError, ValueError, asyncio.TimeoutError):
            pass


async def _head(conn):
    line = await conn.readline()
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise HTTPError("bad_response", "status line %r" % line[:40])
    try:
        status = int(parts[1])
    except ValueError:
        raise HTTPError("bad_response", "status %r" % parts[1])
    headers = {}
    for _ in range(_MAX_HEADERS):
        line = await conn.readline()
        if not line:
            return status, headers
        i = line.find(b":")
        if i <= 0:
            raise HTTPError("bad_response", "header %r" % line[:40])
        name = line[:i].decode().strip().lower()
        if name in _KEEP:
            headers[name] = line[i + 1 :].decode().strip()
    raise HTTPError("bad_response", "more than %d headers" % _MAX_HEADERS)


def _check_range(r, start, end):
    cr = r.headers.get("content-range", "")
    try:
        unit, rest = cr.split(" ", 1)
        span, total = rest.split("/", 1)
        a, b = span.split("-", 1)
        a, b = int(a), int(b)
    except ValueError:
        raise HTTPError("bad_range", "Content-Range %r" % cr)
    if unit != "bytes" or a != start or (end is not None and b != end) or b < a:
        raise HTTPError("bad_range", "asked %s-%s, got %r" % (start, end, cr))
    if r.length is not None and r.length != b - a + 1:
        raise HTTPError("bad_range", "Content-Length %d for %r" % (r.length, cr))
    r.total = None if total == "*" else int(total)


async def get(url, headers=None, *, start=None, end=None, timeout=10, connect_timeout=None,
              redirects=3, cadata=None, ctx=None, allow_http=False, limit=None):
    """GET `url`; with `start` (and optional inclusive `end`) a Range request that must be
    answered 206 with a matching Content-Range. Returns an open Response (status 200/206)
    whose body the caller streams and then closes. Raises HTTPError."""
    seen = 0
    while True:
        tls, host, port, path = netconn.split_url(url, _SCHEMES, HTTPError)
        if not tls and not allow_http:
            raise HTTPError("insecure", "plain http not allowed: " + url)
        if tls and ctx is None:
            if cadata is None:
                raise HTTPError("tls", "https needs a CA certificate (none configured)")
            ctx = netconn.tls_context(cadata, HTTPError)
        reader, writer = await netconn.connect(host, port, ctx if tls else None, connect_timeout or timeout, HTTPError)
        conn = Response(reader, writer, timeout)
        try:
            req = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nUser-Agent: uPile\r\n" % (path, host)
            if start is not None:
                req += "Range: bytes=%d-%s\r\n" % (start, "" if end is None else end)
            if headers:
                for k, v in headers.items():
                    req += "%s: %s\r\n" % (k, v)
            await conn.send((req + "\r\n").encode())
            status, hdrs = await _head(conn)
            if status in _REDIRECTS and "location" in hdrs:
                seen += 1
                if seen > redirects:
                    raise HTTPError("redirects", "more than %d redirects, last to %s" % (redirects, hdrs["location"]))
                url = _resolve(url, hdrs["location"])
                await conn.close()
                continue
            if status not in (200, 206):
                raise HTTPError("status", "%d from %s" % (status, url), status)
            if start is not None and status != 206:
                raise HTTPError("no_range", "status %d to a Range request" % status, status)
            if start is None and status != 200:
                raise HTTPError("bad_response", "206 without a Range request", status)
            conn._start(url, status, hdrs, limit)
            conn.total = conn.length
            if start is not None:
                _check_range(conn, start, end)
            return conn
        except BaseException:
            await conn.close()
            raise
