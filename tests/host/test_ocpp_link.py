"""The OCPP connection on the sim board through what a field brings: a Wi-Fi outage carried
over the 4G modem (emulated module, PPP), a pile on cellular only, and a CSMS that drops the
connection, restarts, answers slowly, refuses connections, fails transaction messages on
purpose and sends malformed frames. Each time: no session lost or sent twice, a reconnect
is no reboot, and the pile answers on.
"""
import json
import time

from ocppsim import OcppPile
from upile.csms import Csms, CsmsCallError


def _mv_times(tx):
    return [v["meterValue"][0]["timestamp"] for v in tx["values"]]


def test_a_wifi_outage_is_carried_over_cellular_and_nothing_is_lost():
    with Csms() as c:
        host, port = "127.0.0.1", c.port
        cfg = {"backend": {"host": host, "port": port}, "charging": {"sample_s": 2},
               "net": {"order": "wifi,cellular", "failback_ms": 60000}}
        with OcppPile(c, "CP4", cfg=cfg, modem=True) as pile:
            pile.plug(1)
            assert c.start("CP4", 1, "app-1", "energy", 500) == "Accepted"
            txid = pile.wait_tx(1)[0]
            c.wait(lambda: len(pile.p.tx[txid]["values"]) >= 2, 30, "meter values over Wi-Fi")
            conns = pile.p.connections
            mark = pile.b.console_mark()
            pile.b.net.drop("depot")  # the access point goes out of range
            pile.b.wait_console(r"link: up on cellular", 60, since=mark)
            c.wait(lambda: pile.p.connected and pile.p.connections > conns, 60, "the pile back over 4G")
            text = pile.console()[mark:]
            assert text.index("link: up on cellular") < text.rindex("connected to the CSMS")
            n = len(pile.p.tx[txid]["values"])
            c.wait(lambda: len(pile.p.tx[txid]["values"]) >= n + 3, 30, "meter values over 4G")
            ts = _mv_times(pile.p.tx[txid])
            assert ts == sorted(ts) and len(set(ts)) == len(ts)
            boots = [x for _, x in c.calls("CP4", "BootNotification")]
            # a reconnect is no reboot; a second boot only because its fields changed: the
            # modem, brought up for the failover, now tells the SIM's ICCID
            assert len(boots) <= 2 and (len(boots) == 1 or boots[1].get("iccid"))
            assert c.stop("CP4", txid) == "Accepted"
            stop = pile.wait_stopped(txid)
            assert stop["reason"] == "Remote" and stop["meterStop"] >= pile.p.tx[txid]["start"]["meterStart"]
            assert not pile.p.violations and pile.p.retransmits == 0


def test_a_cellular_only_pile_boots_with_its_sims_iccid():
    with Csms() as c:
        cfg = {"net": {"order": "cellular"}}
        with OcppPile(c, "CP5", cfg=cfg, modem=True) as pile:
            boot = pile.p.boot
            assert boot["iccid"].startswith("89") and boot["firmwareVersion"]
            pile.plug(2)
            assert c.start("CP5", 2, "app-2", "time", 30) == "Accepted"
            txid = pile.wait_tx(1)[0]
            assert c.stop("CP5", txid) == "Accepted"
            assert pile.wait_stopped(txid)["reason"] == "Remote"


def test_the_csms_drops_restarts_refuses_and_answers_slowly():
    with Csms() as c:
        cfg = {"ocpp": {"call_timeout_s": 2}, "charging": {"sample_s": 3}}
        with OcppPile(c, "CP6", cfg=cfg) as pile:
            p = pile.p
            assert pile.tap(1, "card-6").startswith("ok started")
            pile.plug(1)
            txid = pile.wait_tx(1)[0]
            # dropped without a close: the pile reconnects, no reboot
            conns = p.connections
            c.drop("CP6")
            c.wait(lambda: p.connected and p.connections > conns, 30, "a reconnect")
            # the CSMS restarts (the port closed 3 s)
            conns = p.connections
            c.restart(down_s=3)
            c.wait(lambda: p.connected and p.connections > conns, 60, "a reconnect after the restart")
            # refusals: HTTP 503 for a while; attempts back off instead of hammering
            c.refuse = 503
            n0 = len(c.requests)
            t0 = time.monotonic()
            c.drop("CP6")
            c.wait(lambda: len(c.requests) - n0 >= 4, 60, "4 refused attempts")
            # backoff from 1 s doubling to 4 s, jitter 50-100 %: the 2nd..4th attempts wait
            # >= 0.5 + 1 + 2 s in all; hammering would take a fraction of that
            assert time.monotonic() - t0 >= 3.5
            c.refuse = None
            c.wait(lambda: p.connected, 30, "back after the refusals")
            # slow answers: longer than the call timeout; the retransmission keeps its id and
            # the CSMS's dedup keeps the transaction single
            p.delay_s = 3
            assert pile.tap(1, "card-6").startswith("ok stopped")
            c.wait(lambda: p.tx[txid]["stop"], 60, "the Stop through slow answers")
            p.delay_s = 0
            stops = c.calls("CP6", "StopTransaction")
            assert len(set(m for m, _ in stops)) == 1  # one id, however often it went
            assert len(set(json.dumps(s, sort_keys=True) for _, s in stops)) == 1
            # the answer that came after the timeout was taken as the Stop's answer
            assert "dropped: answer to 'T" not in pile.console()
            assert not p.violations and p.boots == 1
            vals = _mv_times(p.tx[txid])
            assert vals == sorted(vals) and len(set(vals)) == len(vals)


def test_callerrors_on_a_stop_are_retried_and_then_it_arrives():
    with Csms() as c:
        with OcppPile(c, "CP7", cfg={"ocpp": {"tx_attempts": 3, "tx_retry_s": 1}}) as pile:
            p = pile.p
            assert pile.tap(2, "card-7").startswith("ok started")
            pile.plug(2)
            txid = pile.wait_tx(1)[0]
            p.errors["StopTransaction"] = 2
            t0 = time.monotonic()
            assert pile.tap(2, "card-7").startswith("ok stopped")
            pile.wait_stopped(txid, 30)
            took = time.monotonic() - t0
            assert took >= 2.5  # waited RetryInterval x 1, then x 2
            ids = [m for m, _ in c.calls("CP7", "StopTransaction")]
            assert len(ids) == 3 and len(set(ids)) == 3  # a new id after each CALLERROR
            bills = pile.svc.command("bills")
            assert bills[0] == "ok bills more=0"  # acked once answered


def test_malformed_frames_from_the_csms_get_callerrors_and_the_pile_answers_on():
    with Csms() as c:
        with OcppPile(c, "CP8") as pile:
            cases = [
                ('[2,"m1","Teleport",{}]', "NotImplemented"),
                ('[2,"m2","UpdateFirmware",{"location":"http://fw.example/x.bin",'
                 '"retrieveDate":"2030-01-01T00:00:00Z"}]', "NotSupported"),
                ('[2,"m3","Reset",{"type":"Sideways"}]', "PropertyConstraintViolation"),
                ('[2,"m4","Reset",{}]', "ProtocolError"),
                ('[2,"m5","Reset",{"type":"Soft","x":1}]', "FormationViolation"),
                ('[2,"m6","ChangeAvailability",{"connectorId":"1","type":"Operative"}]', "TypeConstraintViolation"),
                ('[2,"m7","RemoteStartTransaction",{"idTag":"' + "x" * 21 + '"}]', "PropertyConstraintViolation"),
                ('[2,"m8",12,{}]', "FormationViolation"),
            ]
            for frame, _ in cases:
                c.raw("CP8", frame)
            for junk in ("not json", "[]", "[3,\"nobody\",{}]", "[4,\"-1\",\"RpcFrameworkError\",\"\",{}]",
                         "[7,\"x\"]", "{\"a\":1}"):
                c.raw("CP8", junk)
            for (frame, code), i in zip(cases, range(1, 9)):
                a = c.wait(lambda: c.answer_to("CP8", "m%d" % i), 20, "the answer to m%d" % i)
                assert a[0] == 4 and a[2] == code, (frame, a)
            # still answering, still connected, never restarted
            assert c.get_config("CP8", ["NumberOfConnectors"])[0] == {"NumberOfConnectors": "2"}
            assert pile.p.connections == 1 and pile.p.boots == 1
            try:
                c.call("CP8", "GetConfiguration", {"key": "HeartbeatInterval"})
                raise AssertionError("a bad payload was accepted")
            except CsmsCallError as e:
                assert e.args[0] == "TypeConstraintViolation"
