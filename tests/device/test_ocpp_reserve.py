# heapsize: 640K
# timeout: 300
# OCPP part 3 in-process over the real pile: ReserveNow / CancelReservation (answers for each
# port state, idTag and parentIdTag use, expiry, a power cut) and TriggerMessage (every
# message it names, the answer before the message, unknown connectors).
import asyncio

from ocppbench import Bench, T0
from firmware.proto.ocpp import dt
from firmware.station import Refused

_n = [0]


async def csms_call(b, action, payload, ms=3000):
    """The CSMS sends a CALL over the connection; returns the pile's answer frame."""
    _n[0] += 1
    mid = "c%d" % _n[0]
    b.ws.feed([2, mid, action, payload])
    for _ in range(ms // 5):
        for m in b.ws.out:
            if m[0] in (3, 4) and m[1] == mid:
                return m
        await asyncio.sleep_ms(5)
    raise AssertionError("no answer to %s" % action)


def resv(c, rid, tag="u1", s=600, parent=None):
    p = {"connectorId": c, "expiryDate": dt.iso(T0 + s), "idTag": tag, "reservationId": rid}
    if parent:
        p["parentIdTag"] = parent
    return p


async def test_reserve_answers_for_every_port_state_and_the_reserved_tag_starts():
    b = Bench(n=3)
    try:
        await b.booted()
        h = b.cp.handlers
        assert h["ReserveNow"](resv(4, 1)) == {"status": "Rejected"}  # no such connector
        assert h["ReserveNow"](resv(1, 1, s=-5)) == {"status": "Rejected"}  # already expired
        b.station.start(2, "full", 0, "busy", "card")
        assert h["ReserveNow"](resv(2, 2)) == {"status": "Occupied"}
        b.station.set_available(3, False)
        assert h["ReserveNow"](resv(3, 3)) == {"status": "Unavailable"}
        b.station.set_available(3, True)
        b.rig.pile._fault(b.rig.pile.ports[2], "relay_welded")
        assert h["ReserveNow"](resv(3, 3)) == {"status": "Faulted"}
        assert h["ReserveNow"](resv(1, 7, "u1")) == {"status": "Accepted"}
        await b.settle(50)
        assert b.station.port(1)["status"] == "Reserved"
        await b.until(lambda: any(s["connectorId"] == 1 and s["status"] == "Reserved"
                                  for s in b.calls("StatusNotification")))
        assert h["ReserveNow"](resv(1, 8, "u2")) == {"status": "Occupied"}  # reserved by another
        assert h["ReserveNow"](resv(1, 7, "u1", s=900)) == {"status": "Accepted"}  # same id: replaced
        # another card cannot start there, the reserved one can; the Start carries the reservation
        try:
            await b.station.tap(1, "other")
            raise AssertionError("another card used the reservation")
        except Refused as e:
            assert e.args[0] == "reserved"
        assert (await b.station.tap(1, "u1"))[0] == "started"
        b.plug(1)
        await b.run(5)
        await b.until(lambda: any(s["connectorId"] == 1 for s in b.calls("StartTransaction")))
        st = [s for s in b.calls("StartTransaction") if s["connectorId"] == 1][0]
        assert st["reservationId"] == 7 and st["idTag"] == "u1"
        assert b.cp.resv.held == {}  # used: gone from flash too
        assert h["CancelReservation"]({"reservationId": 7}) == {"status": "Rejected"}
    finally:
        b.close()


async def test_a_parent_id_tag_uses_the_reservation_expiry_and_cancel_free_the_port():
    b = Bench(n=2)
    try:
        await b.booted()
        b.csms.tags["kid"] = {"status": "Accepted", "parentIdTag": "family"}
        b.csms.tags["stranger"] = {"status": "Accepted", "parentIdTag": "other"}
        h = b.cp.handlers
        assert h["ReserveNow"](resv(1, 11, "mum", parent="family")) == {"status": "Accepted"}
        try:
            await b.station.tap(1, "stranger")
            raise AssertionError("another group used the reservation")
        except Refused as e:
            assert e.args[0] == "reserved"
        assert (await b.station.tap(1, "kid"))[0] == "started"  # same parentIdTag
        assert b.station.port(1)["id_tag"] == "kid"
        # expiry: the port is free again at the expiry date, not before
        assert h["ReserveNow"](resv(2, 12, "u", s=30)) == {"status": "Accepted"}
        await b.run(20)
        assert b.station.port(2)["status"] == "Reserved"
        await b.run(15)
        await b.until(lambda: b.station.port(2)["status"] == "Available")
        assert "12" not in b.cp.resv.held
        sts = [s["status"] for s in b.calls("StatusNotification") if s["connectorId"] == 2]
        await b.until(lambda: [s["status"] for s in b.calls("StatusNotification")
                               if s["connectorId"] == 2][-1] == "Available")
        # cancel: Accepted, the port Available, the CSMS told
        assert h["ReserveNow"](resv(2, 13, "u")) == {"status": "Accepted"}
        await b.settle(30)
        assert h["CancelReservation"]({"reservationId": 13}) == {"status": "Accepted"}
        assert b.station.port(2)["status"] == "Available" and b.cp.resv.held == {}
        assert h["CancelReservation"]({"reservationId": 13}) == {"status": "Rejected"}
        assert sts
    finally:
        b.close()


async def test_a_connector_zero_reservation_holds_one_free_port_for_its_id_tag():
    b = Bench(n=2)
    try:
        await b.booted()
        h = b.cp.handlers
        r = h["GetConfiguration"]({"key": ["ReserveConnectorZeroSupported"]})
        assert r["configurationKey"][0]["value"] == "true"
        assert h["ReserveNow"](resv(0, 50, "z")) == {"status": "Accepted"}
        assert b.station.port(2)["reservation"] == 50 and b.station.port(1)["status"] == "Available"
        assert h["ReserveNow"](resv(0, 50, "z", s=900)) == {"status": "Accepted"}  # the same one: the same port
        assert b.station.port(1)["status"] == "Available"
        assert h["ReserveNow"](resv(0, 51, "y")) == {"status": "Accepted"}
        assert b.station.port(1)["reservation"] == 51
        assert h["ReserveNow"](resv(0, 52, "x")) == {"status": "Occupied"}  # TC_050_2
        assert (await b.station.tap(2, "z"))[0] == "started"
        b.plug(2)
        await b.run(5)
        await b.until(lambda: b.calls("StartTransaction"))
        assert b.calls("StartTransaction")[0]["reservationId"] == 50  # TC_049
        assert h["CancelReservation"]({"reservationId": 51}) == {"status": "Accepted"}
        b.station.stop(2, "Local", "card")
        await b.run(2)
        b.station.set_available(0, False)
        await b.until(lambda: b.station.port(2)["status"] == "Unavailable")
        assert h["ReserveNow"](resv(0, 53, "x")) == {"status": "Unavailable"}  # TC_050_3
        b.station.set_available(0, True)
        for port in b.rig.pile.ports:
            b.rig.pile._fault(port, "relay_welded")
        assert h["ReserveNow"](resv(0, 54, "x")) == {"status": "Faulted"}  # TC_050_1
    finally:
        b.close()


async def test_reservations_survive_a_power_cut_with_the_time_they_had_left():
    b = Bench(n=2)
    try:
        await b.booted()
        assert b.cp.handlers["ReserveNow"](resv(1, 21, "u1", s=100)) == {"status": "Accepted"}
        assert b.cp.handlers["ReserveNow"](resv(2, 22, "u2", s=20)) == {"status": "Accepted"}
        await b.run(10)
        b.close()
        b.rig.reboot()
        b2 = Bench(n=2, rig=b.rig, data=b.data)
        b2.rig.wall = T0 + 40  # 40 s later: 22 has expired meanwhile, 21 has 60 s left
        await b2.booted()
        await b2.until(lambda: b2.station.port(1)["status"] == "Reserved")
        assert b2.station.port(1)["reservation"] == 21 and b2.station.port(2)["status"] == "Available", (b2.station.port(1), b2.station.port(2))
        assert list(b2.cp.resv.held) == ["21"]
        try:
            b2.station.start(1, "full", 0, "u2", "card")
            raise AssertionError("the restored reservation did not hold the port")
        except Refused as e:
            assert e.args[0] == "reserved"
        b2.rig.wall = T0 + 105
        await b2.run(65)
        await b2.until(lambda: b2.station.port(1)["status"] == "Available")
        b2.close()
    finally:
        b.close()


async def test_trigger_message_answers_first_then_sends_each_message():
    b = Bench(n=2, charging={"sample_s": 0})
    try:
        await b.booted()
        b.station.start(1, "full", 0, "t1", "card")
        b.plug(1)
        await b.run(5)
        await b.until(lambda: b.calls("StartTransaction"))
        cases = [("Heartbeat", None, "Heartbeat"), ("StatusNotification", 1, "StatusNotification"),
                 ("MeterValues", 1, "MeterValues"), ("DiagnosticsStatusNotification", None,
                                                    "DiagnosticsStatusNotification"),
                 ("FirmwareStatusNotification", None, "FirmwareStatusNotification")]
        for what, c, action in cases:
            n_out = len(b.ws.out)
            p = {"requestedMessage": what}
            if c is not None:
                p["connectorId"] = c
            ans = await csms_call(b, "TriggerMessage", p)
            assert ans[2] == {"status": "Accepted"}, (what, ans)
            await b.until(lambda: any(m[0] == 2 and m[2] == action for m in b.ws.out[n_out:]))
            later = b.ws.out[n_out:]
            i_ans = later.index(ans)
            i_msg = [i for i, m in enumerate(later) if m[0] == 2 and m[2] == action][0]
            assert i_ans < i_msg, (what, later)  # the answer first
            msg = later[i_msg][3]
            if what == "StatusNotification":
                assert msg["connectorId"] == 1 and msg["status"] == "Charging"
            if what == "MeterValues":
                assert msg["connectorId"] == 1 and msg["transactionId"] == 101
                sv = msg["meterValue"][0]["sampledValue"][0]
                assert sv["context"] == "Trigger" and sv["measurand"] == "Energy.Active.Import.Register"
            if action.endswith("StatusNotification") and what != "StatusNotification":
                assert msg == {"status": "Idle"}
        # no connector given: connector 0 and every port
        n_out = len(b.ws.out)
        await csms_call(b, "TriggerMessage", {"requestedMessage": "StatusNotification"})
        await b.until(lambda: len([m for m in b.ws.out[n_out:] if m[0] == 2 and m[2] == "StatusNotification"]) == 3)
        assert sorted(m[3]["connectorId"] for m in b.ws.out[n_out:] if m[0] == 2) == [0, 1, 2]
        # a connector the pile does not have; a boot once accepted (errata 3.35)
        for p in ({"requestedMessage": "StatusNotification", "connectorId": 3},
                  {"requestedMessage": "MeterValues", "connectorId": 9},
                  {"requestedMessage": "BootNotification"}):
            n_out = len(b.ws.out)
            assert (await csms_call(b, "TriggerMessage", p))[2] == {"status": "Rejected"}
            await b.settle(100)
            assert not [m for m in b.ws.out[n_out:] if m[0] == 2 and m[2] != "Heartbeat"]
    finally:
        b.close()


class _Csms:
    """What the bench's first CSMS takes over (a Pending boot first)."""
    boot = ["Pending", "Accepted"]
    errors, tags, silent, txid, ids, calls = {}, {}, set(), 100, {}, []

    def stop(self):
        pass


async def test_a_triggered_boot_while_pending_goes_now():
    b = Bench(n=1)
    b.csms = _Csms()  # Pending with the default interval (300 s): the pile would wait
    try:
        await b.until(lambda: b.cp.boot.state == "Pending")
        ans = await csms_call(b, "TriggerMessage", {"requestedMessage": "BootNotification"})
        assert ans[2] == {"status": "Accepted"}
        await b.until(lambda: b.cp.accepted.is_set())
        assert len(b.calls("BootNotification")) == 2
    finally:
        b.close()
