# heapsize: 1M
# (1M: every module compiles from source here; after parts 2 and 3 joined, a 6.8 KB parse found no room at 640K)
# timeout: 120
# GetLog / GetDiagnostics in-process (ocppbench.Bench, a fake `http` module in place of the
# network): the lines inside the window, exactly the announced length even when the log
# rotates between the count and the upload, 1 KiB pieces, retries, PermissionDenied, a new
# request cancelling the running one, and the notifications with their requestId.
import asyncio
import sys

from ocppbench import Bench

T = 1798761600  # 2027-01-01


class FakeHttp:
    """lib/httpput's put(): records what the pile sends; fail: HTTPErrors to raise first."""

    class HTTPError(Exception):
        def __init__(self, reason, detail="", status=0):
            super().__init__(reason, detail)
            self.reason, self.status = reason, status

    def __init__(self):
        self.puts = []  # (url, length, bytes, piece sizes)
        self.fail = []
        self.hold = None  # an Event the upload waits on (to test a cancel)

    async def put(self, url, length, body, **kw):
        if self.fail:
            raise self.fail.pop(0)
        got, sizes = bytearray(), []

        async def send(b):
            got.extend(b)
            sizes.append(len(b))
            if self.hold is not None:
                await self.hold.wait()

        await body(send)
        self.puts.append((url, length, bytes(got), sizes))
        return 201


def _bench(lines):
    b = Bench()
    b.rig.wall = T
    fake = FakeHttp()
    sys.modules["httpput"] = fake
    b.station.log_lines = lambda: iter(lines() if callable(lines) else lines)
    return b, fake


def _st(b, rid):
    return [p["status"] for p in b.calls("LogStatusNotification") if p.get("requestId") == rid]


async def _call(b, action, p):
    r = b.cp.handlers[action](p)
    if isinstance(r, tuple):
        r, after = r
        await after()
    return r


async def test_the_window_the_length_and_the_pieces():
    lines = ["%d I ocpp: line %d %s" % (T - 100 + i, i, "x" * 40) for i in range(100)] + ["12 I boot: no clock yet"]
    b, fake = _bench(lines)
    try:
        await b.booted()
        r = await _call(b, "GetLog", {"logType": "DiagnosticsLog", "requestId": 1, "log": {"remoteLocation": "http://h/up/"}})
        assert r == {"status": "Accepted", "filename": "CP1-diagnostics-1.log"}
        await b.until(lambda: _st(b, 1) == ["Uploading", "Uploaded"])
        url, n, body, sizes = fake.puts[-1]
        assert url == "http://h/up/CP1-diagnostics-1.log" and n == len(body)
        assert body.decode().splitlines() == lines  # everything, in order
        assert max(sizes) == 1024 and all(s == 1024 for s in sizes[:-1])
        # a window: the lines of those seconds only (the one without a clock is left out)
        await _call(b, "GetLog", {"logType": "DiagnosticsLog", "requestId": 2, "log": {
            "remoteLocation": "http://h/x.log", "oldestTimestamp": "2026-12-31T23:58:40Z",
            "latestTimestamp": "2026-12-31T23:58:49Z"}})
        await b.until(lambda: _st(b, 2) == ["Uploading", "Uploaded"])
        got = fake.puts[-1][2].decode().splitlines()
        assert got == lines[20:30] and fake.puts[-1][0] == "http://h/x.log"
        # the log rotates between the count and the upload: the announced length is kept
        state = [0]

        def rotating():
            state[0] += 1
            return lines if state[0] == 1 else lines[50:]

        b.station.log_lines = rotating
        await _call(b, "GetLog", {"logType": "DiagnosticsLog", "requestId": 3, "log": {"remoteLocation": "http://h/"}})
        await b.until(lambda: _st(b, 3) == ["Uploading", "Uploaded"])
        url, n, body, _ = fake.puts[-1]
        assert len(body) == n and body.startswith(("\n".join(lines[50:]) + "\n").encode()), (n, len(body), body[:80], body[-80:], state)
    finally:
        b.close()


async def test_retries_permission_and_cancel():
    b, fake = _bench(["%d I x: y" % T])
    try:
        await b.booted()
        fake.fail = [fake.HTTPError("io", "dropped"), fake.HTTPError("timeout")]
        await _call(b, "GetLog", {"logType": "DiagnosticsLog", "requestId": 4, "retries": 2, "retryInterval": 0,
                                  "log": {"remoteLocation": "http://h/"}})
        await b.until(lambda: _st(b, 4) == ["Uploading", "Uploaded"])
        fake.fail = [fake.HTTPError("io")] * 2
        await _call(b, "GetLog", {"logType": "SecurityLog", "requestId": 5, "retries": 1, "retryInterval": 0,
                                  "log": {"remoteLocation": "http://h/"}})
        await b.until(lambda: _st(b, 5) == ["Uploading", "UploadFailure"])
        fake.fail = [fake.HTTPError("status", "403", 403)]
        await _call(b, "GetLog", {"logType": "DiagnosticsLog", "requestId": 6, "retries": 3,
                                  "log": {"remoteLocation": "http://h/"}})
        await b.until(lambda: _st(b, 6) == ["Uploading", "PermissionDenied"])
        assert (await _call(b, "GetLog", {"logType": "DiagnosticsLog", "requestId": 7,
                                          "log": {"remoteLocation": "ftp://h/"}}))["status"] == "Rejected"
        # GetDiagnostics: fileName, its own notification without a requestId
        fake.hold = asyncio.Event()
        r = await _call(b, "GetDiagnostics", {"location": "http://h/d/"})
        assert r["fileName"].startswith("CP1-diagnostics-")
        await b.until(lambda: [p["status"] for p in b.calls("DiagnosticsStatusNotification")] == ["Uploading"])
        # a new request while it runs: AcceptedCanceled, the old upload stops
        r = await _call(b, "GetLog", {"logType": "DiagnosticsLog", "requestId": 8, "log": {"remoteLocation": "http://h/"}})
        assert r["status"] == "AcceptedCanceled"
        fake.hold.set()
        await b.until(lambda: _st(b, 8) == ["Uploading", "Uploaded"])
        assert [p["status"] for p in b.calls("DiagnosticsStatusNotification")] == ["Uploading"]
        # GetDiagnostics to ftp:// (OCTT TC_045_2's location): no client, so said by the notification
        puts = len(fake.puts)
        r = await _call(b, "GetDiagnostics", {"location": "ftp://h/files/failedLocation", "retries": 0})
        assert r["fileName"].startswith("CP1-diagnostics-")
        await b.until(lambda: [p["status"] for p in b.calls("DiagnosticsStatusNotification")] ==
                      ["Uploading", "Uploading", "UploadFailed"])
        assert len(fake.puts) == puts
    finally:
        b.close()
