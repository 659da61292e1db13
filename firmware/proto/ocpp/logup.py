"""GetLog (whitepaper N01) and GetDiagnostics (OCPP 1.6 5.8): the pile's persistent log (the
one `upile logs` reads, station.log_lines) or its security log (secev.py) uploaded to the
CSMS's URL by HTTP PUT with a Content-Length, streamed from flash 1 KiB at a time, only the
lines inside the time window asked (docs/ocpp.md "Part 2: logs").

PUT, not a multipart POST: the body is the log itself (no MIME framing to build or parse), any
web server or object store takes it (a presigned S3/GCS URL, nginx's dav module), and the
length is known before sending (a first pass over the lines counts it), so no chunked
encoding is needed. FTP, the whitepaper's suggestion, has no client on the pile. An upload
runs as one task; a new request cancels it (AcceptedCanceled). Statuses go through the
guaranteed queue: LogStatusNotification Uploading -> Uploaded | UploadFailure |
PermissionDenied | BadMessage, DiagnosticsStatusNotification Uploading -> Uploaded |
UploadFailed (their requestId for GetLog).
"""
import asyncio
import time

import log

_log = log.get("ocpp")
_BUF = 1024


def _epoch():
    return 946684800 if time.gmtime(0)[0] == 2000 else 0  # the log's times: the port's epoch


def _lines(cp, security, lo, hi):
    """(unix or None, text) of each log line, oldest first, inside [lo, hi] when given (a
    line whose time is unknown is left out of a window)."""
    if security:
        from firmware.proto.ocpp import dt, secev

        for t, kind, tech in secev.lines(cp.data + "/seclog.jnl"):
            t = t or None
            if (lo is None or (t is not None and t >= lo)) and (hi is None or (t is not None and t <= hi)):
                yield t, "%s %s %s" % (dt.iso(t) if t else "-", kind, tech)
        return
    off = _epoch()
    for line in cp.station.log_lines():
        sp = line.find(" ")
        try:
            t = int(line[:sp]) + off if sp > 0 else None
        except ValueError:
            t = None
        if t is not None and t < 1000000000:
            t = None  # logged before the clock was set
        if (lo is None or (t is not None and t >= lo)) and (hi is None or (t is not None and t <= hi)):
            yield t, line


async def _put(cp, url, security, lo, hi):
    """One attempt: count, then stream the lines. Returns the bytes sent."""
    import httpput

    size = 0
    for _, line in _lines(cp, security, lo, hi):
        size += len(line) + 1
    buf = bytearray(_BUF)
    mv = memoryview(buf)

    async def body(send):
        n = 0  # bytes in buf
        left = size
        for _, line in _lines(cp, security, lo, hi):
            b = (line + "\n").encode()
            b = b[:left]
            left -= len(b)
            i = 0
            while i < len(b):
                k = min(_BUF - n, len(b) - i)
                buf[n:n + k] = b[i:i + k]
                n += k
                i += k
                if n == _BUF:
                    await send(mv)
                    n = 0
            if not left:
                break
        while left:  # the log rotated between the passes: keep the announced length
            k = min(_BUF - n, left)
            buf[n:n + k] = b"\n" * k
            n += k
            left -= k
            if n == _BUF:
                await send(mv)
                n = 0
        if n:
            await send(mv[:n])

    o = cp.o
    cadata = None
    if url.startswith("https://"):  # the roots the CSMS connection trusts: ocpp.ca and installed ones
        cadata = cp.use("certs", "handshake_roots")
    await httpput.put(url, size, body, timeout=o["call_timeout_s"], cadata=cadata,
                   allow_http=not cp.o["url"].startswith("wss://"))
    return size


def _name(cp, what, rid):
    return "%s-%s-%s.log" % (cp.id, what, rid)


def _target(url, name):
    return url + name if url.endswith("/") else url


def _running(cp):
    t = getattr(cp, "log_task", None)  # on the charge point: this module is dropped between CALLs
    return t is not None and not t.done()


def _start(cp, req):
    """Cancel a running upload and start req's."""
    if _running(cp):
        cp.log_task.cancel()
    cp.log_task = asyncio.create_task(_run(cp, req))
    cp.log_rid = req[1]


async def _run(cp, req):
    action, rid, url, security, lo, hi, retries, interval = req

    def note(status):
        p = {"status": status}
        if rid is not None:
            p["requestId"] = rid
        cp.outq.add(action, p)

    note("Uploading")
    if not _url_ok(url):  # GetDiagnostics to ftp:// and the like: no client here
        _log.warn("no client for %s: upload failed", url.split(":")[0])
        note("UploadFailed")
        return
    last = None
    for attempt in range(retries + 1):
        if attempt:
            await asyncio.sleep(interval)
        try:
            t0 = time.ticks_ms()
            n = await _put(cp, url, security, lo, hi)
            ms = time.ticks_diff(time.ticks_ms(), t0)
            _log.info("%s uploaded: %d bytes in %d ms", "security log" if security else "log", n, ms)
            note("Uploaded")
            return
        except Exception as e:  # noqa: BLE001  HTTPError, OSError: retried
            last = e
            _log.warn("log upload attempt %d/%d to %s failed: %r", attempt + 1, retries + 1, url.split("?")[0], e)
            if getattr(e, "status", 0) in (401, 403) and rid is not None:
                note("PermissionDenied")
                return
    note("UploadFailure" if rid is not None else "UploadFailed")
    _log.warn("log upload gave up: %r", last)


def _url_ok(url):
    return url.startswith("http://") or url.startswith("https://")


def get_log(cp, p):
    from firmware.proto.ocpp import dt

    lg = p["log"]
    url = lg["remoteLocation"]
    if not _url_ok(url):
        return {"status": "Rejected"}  # ftp:// and the like: no client here
    security = p["logType"] == "SecurityLog"
    rid = p["requestId"]
    name = _name(cp, "security" if security else "diagnostics", rid)
    lo = dt.unix(lg["oldestTimestamp"]) if lg.get("oldestTimestamp") else None
    hi = dt.unix(lg["latestTimestamp"]) if lg.get("latestTimestamp") else None
    req = ("LogStatusNotification", rid, _target(url, name), security, lo, hi, p.get("retries", 0),
           p.get("retryInterval", 30))
    async def after():
        _start(cp, req)

    return {"status": "AcceptedCanceled" if _running(cp) else "Accepted", "filename": name}, after


def get_diagnostics(cp, p):
    from firmware.proto.ocpp import dt

    url = p["location"]
    # a location the pile cannot reach (ftp://) still gets its fileName, then Uploading and
    # UploadFailed: GetDiagnostics.conf has no status, the notification is the only way to say it
    # (OCTT TC_045_2 expects both)
    name = _name(cp, "diagnostics", "%d" % (cp.station.bus.now() or 0))
    lo = dt.unix(p["startTime"]) if p.get("startTime") else None
    hi = dt.unix(p["stopTime"]) if p.get("stopTime") else None
    if _url_ok(url):
        url = _target(url, name)
    req = ("DiagnosticsStatusNotification", None, url, False, lo, hi, p.get("retries", 0), p.get("retryInterval", 30))

    async def after():
        _start(cp, req)

    return {"fileName": name}, after
