"""Client connections shared by lib/http.py and lib/websocket.py: URL split, a verifying TLS
context, connect with a timeout, and OS/TLS errors mapped to named reasons.

Errors are raised as `err(reason, detail)` with the caller's own exception class
(http.HTTPError, websocket.WSError): firmware.ota.forget() drops this module and http
during an update while a WebSocket stays open, and a module imported again would make a
second exception class that an `except` written against the first one misses.
Reasons: bad_url, connect, tls, timeout, io.
"""
import asyncio
import binascii


def split_url(url, schemes, err):
    """-> (tls: bool, host, port, path). `schemes`: {"https://": (True, 443), ...}."""
    for pre in schemes:
        if url.startswith(pre):
            tls, port = schemes[pre]
            rest = url[len(pre) :]
            break
    else:
        raise err("bad_url", url)
    i = rest.find("/")
    hostport, path = (rest, "/") if i < 0 else (rest[:i], rest[i:])
    if ":" in hostport:
        hostport, p = hostport.rsplit(":", 1)
        try:
            port = int(p)
        except ValueError:
            raise err("bad_url", url)
    # a space or control byte in the target would split the request line; other bytes
    # must come percent-encoded (websocket.quote)
    if not hostport or "@" in hostport or any(c <= " " or c >= "\x7f" for c in path):
        raise err("bad_url", url)
    return tls, hostport, port, path


def io_error(e, what, err):
    """err() for an OSError or ValueError of socket/TLS I/O (mbedTLS reports certificate
    problems as ValueError, at whichever call drives the handshake: connect, write or read)."""
    if isinstance(e, ValueError):
        return err("tls", "%s: %s" % (what, e))
    code = e.errno if hasattr(e, "errno") else (e.args[0] if e.args else 0)
    if code in (11, 110):  # EAGAIN on the Unix port, ETIMEDOUT on the ESP32
        return err("timeout", "%s: socket timeout" % what)
    if isinstance(code, int) and code < 0:  # mbedTLS error codes are negative
        return err("tls", "%s: mbedTLS error %d" % (what, code))
    # ENETUNREACH, ECONNREFUSED, EHOSTUNREACH (lwIP numbers them alike): asyncio connects
    # without waiting for the outcome, so they come at the first write or read [seen]
    refused = what == "connect" or code in (101, 111, 113)
    return err("connect" if refused else "io", "%s: OSError %s" % (what, code))


def der(data):
    """`data` as DER: DER already, or the first PEM block decoded. MicroPython's mbedTLS
    is built without PEM parsing: PEM gives ValueError("invalid cert") [seen]."""
    i = data.find(b"-----BEGIN")
    if i < 0:
        return data
    i = data.find(b"\n", i) + 1
    return binascii.a2b_base64(data[i : data.find(b"-----END", i)])


def tls_context(cadata, err, cert=None, key=None):
    """A verifying client context for `cadata`: one CA (DER or PEM) or an iterable of them
    (several roots: each load_verify_locations appends its certificate to mbedTLS's CA chain,
    mbedtls_x509_crt_parse_der; a generator keeps one in our heap at a time). One load per
    root because a blob of concatenated DER certificates loads only its first and this build
    parses no PEM [seen, bench/ocpp_roots.py]. With `cert` and `key` (DER or PEM) it presents
    a client certificate (OCPP security profile 3).
    mbedTLS 3.x has no TLS 1.0/1.1 at all, so the floor is TLS 1.2 without a setting."""
    import tls

    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = tls.CERT_REQUIRED  # the `ssl` wrapper would force CERT_NONE
    n = 0
    for ca in (cadata,) if isinstance(cadata, (bytes, bytearray)) else cadata:
        try:
            ctx.load_verify_locations(der(ca))  # positional: the Unix build rejects the keyword
        except (ValueError, OSError) as e:
            raise err("tls", "bad CA certificate: %s" % (e,))
        n += 1
    if not n:
        raise err("tls", "no CA certificate")
    if cert is not None:
        try:
            ctx.load_cert_chain(der(cert), der(key))
        except (ValueError, OSError) as e:
            raise err("tls", "bad client certificate or key: %s" % (e,))
    return ctx


async def connect(host, port, ctx, timeout, err):
    """(reader, writer) of a TCP connection, TLS through `ctx` (host name checked) unless
    ctx is None. The DNS lookup inside blocks the loop (MicroPython's open_connection)."""
    try:
        if ctx is not None:
            aw = asyncio.open_connection(host, port, ssl=ctx, server_hostname=host)
        else:
            aw = asyncio.open_connection(host, port)
        return await asyncio.wait_for(aw, timeout)
    except asyncio.TimeoutError:
        raise err("timeout", "connect to %s:%d" % (host, port))
    except (OSError, ValueError) as e:
        raise io_error(e, "connect", err)
