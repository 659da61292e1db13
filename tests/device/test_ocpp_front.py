# heapsize: 640K
# timeout: 300
# The pile's front meets OCPP: with front.card_check "backend" the charge point answers the
# front's card.ask with the same judgement as a tap (auth.py: Authorize, its cache, the
# offline rules) through station.card_answer; an accepted card's start becomes a
# transaction with its idTag; a refused one says the CSMS's status; offline, the cache decides.
from ocppbench import Bench
from firmware.front.cards import Cards
from firmware.front.starts import Starts

UID = bytes((0xA1, 0xB2, 0xC3, 0xD4))
BLOCKED = bytes((0xDE, 0xAD, 0xBE, 0xEF))
STRANGER = bytes((0x01, 0x02, 0x03, 0x04))


class _Hub:  # what firmware/front/core.py's Front gives the station
    def __init__(self, cards):
        self.cards = cards

    def card_answer(self, *a):
        return self.cards.answer(*a)

    def pending_alarms(self, limit):  # no alarm inputs on this bench
        return []

    def ack_alarm(self, aid):
        return False


def _bench(**ocpp):
    from chgsim import Rig

    rig = Rig(n=2, keep=40)
    rig.cfg["front"]["card_check"] = "backend"  # before the charge point subscribes
    b = Bench(rig=rig, charging={"sample_s": 60}, ocpp=ocpp)
    clock = [0]
    starts = Starts(b.station, b.rig.bus)
    # an empty local list: only the back end's answer can let a card charge
    cards = Cards(b.rig.cfg, starts, b.rig.bus, clock=lambda: clock[0], path=b.data + "/cards.txt")
    b.station.attach(front=_Hub(cards))
    says = b.rig.bus.subscribe("front.say", size=32)
    return b, cards, clock, says


def _said(says):
    out = []
    while True:
        ev = says.get_nowait()
        if ev is None:
            return out
        out.append((ev.data["key"], ev.data["port"], ev.data["why"]))


async def test_a_card_at_the_front_is_authorized_by_the_csms_and_its_session_is_a_transaction():
    b, cards, clock, says = _bench()
    try:
        await b.booted()
        b.csms.tags["DEADBEEF"] = {"status": "Blocked"}
        assert await cards.tap(UID, 1) == "started"
        auth = b.calls("Authorize")
        assert [a["idTag"] for a in auth] == ["A1B2C3D4"], (auth, b.calls("SecurityEventNotification"))  # asked the CSMS, once
        info = b.station.port(1)
        assert info["method"] == "card" and info["id_tag"] == "A1B2C3D4"
        assert info["kind"] == "full"  # OCPP carries no budget: the pile's default
        b.plug(1)
        await b.run(5)
        await b.until(lambda: b.calls("StartTransaction"))
        st = b.calls("StartTransaction")[0]
        assert st["connectorId"] == 1 and st["idTag"] == "A1B2C3D4"
        # a blocked card is refused with the CSMS's status, nothing starts on port 2
        clock[0] += 10000
        assert await cards.tap(BLOCKED, 2) == "refused"
        assert b.station.port(2).get("id") is None
        refusals = [e for e in _said(says) if e[0] == "refused"]
        assert refusals and refusals[-1] == ("refused", 2, "blocked"), refusals
        # the same card stops its session at the front: StopTransaction Local with its idTag
        clock[0] += 10000
        assert await cards.tap(UID, 1) == "stopped"
        await b.run(2)
        await b.until(lambda: b.calls("StopTransaction"))
        stop = b.calls("StopTransaction")[0]
        assert stop["reason"] == "Local" and stop["idTag"] == "A1B2C3D4"
        assert stop["transactionId"] == b.csms.txid
        await b.until(lambda: not b.station.pending_bills())
    finally:
        b.close()


async def test_offline_the_cache_and_the_offline_rules_answer_the_front():
    b, cards, clock, says = _bench(local_auth_offline=True, allow_offline_unknown=False)
    try:
        await b.booted()
        assert await cards.tap(UID, 1) == "started"  # online: Authorize, cached Accepted
        b.station.stop(1, "Local", "card")
        await b.run(2)
        b.online = False
        b.drop()
        await b.until(lambda: not b.cp.accepted.is_set())
        n = len(b.calls("Authorize"))
        clock[0] += 10000
        assert await cards.tap(UID, 2) == "started"  # the cache: LocalAuthorizeOffline
        assert b.station.port(2)["id_tag"] == "A1B2C3D4"
        clock[0] += 10000
        assert await cards.tap(STRANGER, 1) == "refused"  # unknown, AllowOfflineTxForUnknownId false
        assert ("refused", 1, "invalid") in _said(says)
        assert len(b.calls("Authorize")) == n  # nothing went while offline
    finally:
        b.close()
