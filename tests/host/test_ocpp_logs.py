"""GetLog and GetDiagnostics on the sim board against `upile csms` (docs/ocpp.md "Part 2:
logs"): the persistent log and the security log uploaded by HTTP PUT to a loopback server,
within the time window, with retries when the server drops the connection mid-upload, and
the notifications (LogStatusNotification with the requestId, DiagnosticsStatusNotification)."""
import time

from ocppsim import OcppPile
from upile.csms import Csms
from upile.csms.sink import Server


def _statuses(pile, action, rid=None):
    return [p["status"] for p in (pile.p.log_statuses if action == "LogStatusNotification" else
                                  [x for _, x in pile.csms.calls(pile.cid, action)])
            if rid is None or p.get("requestId") == rid]


def test_log_upload_by_put_with_a_window_retries_and_both_messages():
    srv = Server()
    try:
        with Csms() as c:
            with OcppPile(c, "LG1") as pile:
                t_boot = int(time.time())
                pile.b.wait_console(r"ocpp: BootNotification accepted", 20)
                # the diagnostics log, the server cutting the first attempt mid-body: retried
                srv.srv.drops = 1
                r = c.call(pile.cid, "GetLog", {"logType": "DiagnosticsLog", "requestId": 5, "retries": 2,
                                                "retryInterval": 1, "log": {"remoteLocation": srv.url}})
                assert r == {"status": "Accepted", "filename": "LG1-diagnostics-5.log"}
                c.wait(lambda: "Uploaded" in _statuses(pile, "LogStatusNotification", 5), 60, "Uploaded")
                assert _statuses(pile, "LogStatusNotification", 5) == ["Uploading", "Uploaded"]
                assert srv.srv.cut == 1
                path, body = srv.srv.got[-1]
                assert path == "/up/LG1-diagnostics-5.log"
                lines = body.decode().splitlines()
                assert any("ocpp: connected to the CSMS as LG1" in x for x in lines), lines[-5:]
                # a window: only the lines of its seconds (each line starts with its unix time)
                lo = t_boot + 1
                c.call(pile.cid, "GetLog", {"logType": "DiagnosticsLog", "requestId": 6, "log": {
                    "remoteLocation": srv.url, "oldestTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(lo))}})
                c.wait(lambda: "Uploaded" in _statuses(pile, "LogStatusNotification", 6), 60, "Uploaded 6")
                win = srv.srv.got[-1][1].decode().splitlines()
                assert all(int(x.split()[0]) >= lo for x in win) and len(win) < len(lines)
                # the security log: this start's event is in it
                c.call(pile.cid, "GetLog", {"logType": "SecurityLog", "requestId": 7, "log": {"remoteLocation": srv.url}})
                c.wait(lambda: "Uploaded" in _statuses(pile, "LogStatusNotification", 7), 60, "Uploaded 7")
                path, body = srv.srv.got[-1]
                assert path == "/up/LG1-security-7.log" and b"StartupOfTheDevice" in body
                # GetDiagnostics: the 1.6 message, its own notification
                r = c.call(pile.cid, "GetDiagnostics", {"location": srv.url})
                assert r["fileName"].startswith("LG1-diagnostics-")
                c.wait(lambda: "Uploaded" in _statuses(pile, "DiagnosticsStatusNotification"), 60, "diagnostics")
                assert _statuses(pile, "DiagnosticsStatusNotification") == ["Uploading", "Uploaded"]
                # refused: no FTP client; a server that forbids it; one that always drops
                r = c.call(pile.cid, "GetLog", {"logType": "DiagnosticsLog", "requestId": 8,
                                                "log": {"remoteLocation": "ftp://127.0.0.1/x"}})
                assert r["status"] == "Rejected"
                srv.srv.status = 403
                c.call(pile.cid, "GetLog", {"logType": "DiagnosticsLog", "requestId": 9, "log": {"remoteLocation": srv.url}})
                c.wait(lambda: "PermissionDenied" in _statuses(pile, "LogStatusNotification", 9), 60, "PermissionDenied")
                srv.srv.status, srv.srv.drops = 201, 99
                c.call(pile.cid, "GetLog", {"logType": "DiagnosticsLog", "requestId": 10, "retries": 1, "retryInterval": 1,
                                            "log": {"remoteLocation": srv.url}})
                c.wait(lambda: "UploadFailure" in _statuses(pile, "LogStatusNotification", 10), 60, "UploadFailure")
                assert _statuses(pile, "LogStatusNotification", 10) == ["Uploading", "UploadFailure"]
                assert "Traceback" not in pile.console()
    finally:
        srv.close()
