"""DNY on the sim board over the cellular link: the firmware that ships brings the 4G module
up (AT peer, PPP), connects to `upile dny-server`, registers, beats, takes the server's time,
charges a paid order to its budget and settles it once; the server's faults (drops, noise,
split frames, bad checksums, slow and duplicate answers) cost no settlement and no double."""
# long: 150 s (started first by tests/conftest.py, so it is not the suite's tail)
import time

import dnysim
from dnysim import ICCID, PHYS, Pile, until
from upile.dnyserver import DnyServer


def test_register_heartbeats_and_time_over_cellular(tmp_path):
    srv = DnyServer(time_offset=-3600).start()  # the server's clock: an hour behind the host's
    pile = Pile(tmp_path / "b", srv.port, host_s=10)
    try:
        pile.board.power_on()
        assert srv.wait_pile(90) == PHYS
        assert pile.modem.data_mode  # the only link: PPP over the 4G module
        p = srv.piles[PHYS]
        assert p.iccid == ICCID  # the module's preamble after the connect
        assert p.reg == {"fw": p.reg["fw"], "ports": 2, "virtual": 0, "type": 0x31, "mode": 0, "power_fw": 0}
        until(lambda: len(p.beats) >= 3, 60, what="three heartbeats")
        hb = p.beats[-1][1]
        assert hb["status"] == [0, 0] and hb["volts_dv"] > 2000
        ts = [t for t, _ in p.beats[-3:]]
        assert 3.5 <= ts[-1] - ts[-2] <= 12, ts  # every heartbeat_s (5 s)
        # the time: the server's (no NTP here, the modem's was older) through the net domain
        pile.wait(r"time \d+ from the server \(0x22\)")
        until(lambda: p.host, 30, what="a host heartbeat")
        assert p.host[0]["iccid"] == ICCID and p.host[0]["host_type"] == 0x55 and p.host[0]["modem"] == 6
        srv.cmd(PHYS, 0x81, b"", timeout=1, resends=0)  # query: the pile says who it is again
        n = len(p.beats)
        until(lambda: len(p.beats) > n, 10, what="a heartbeat after 0x81")
        # the pile's clock now follows the server's: its next 0x11 carries a time an hour behind
        n = len(p.host)
        until(lambda: len(p.host) > n, 30, what="the next host heartbeat")
        assert abs(p.host[-1]["time"] - (time.time() - 3600)) < 60, p.host[-1]
        srv.cmd(PHYS, 0x87)  # reboot: answered, then it comes back and registers again
        until(lambda: p.connects >= 2 and p.reg, 120, what="the pile back after 0x87")
        pile.wait(r"reboot commanded by the server")
        assert "Traceback" not in pile.text()
    finally:
        pile.close()
        srv.close()


def test_a_paid_order_ends_at_its_budget_with_one_settlement_despite_faults(tmp_path):
    srv = DnyServer(gap_s=0.1).start()
    pile = Pile(tmp_path / "b", srv.port)
    try:
        pile.board.power_on()
        srv.wait_pile(90)
        pile.plug(1, 600.0)
        srv.faults.update(garbage=40, badsum=2, split=True, dup=True)
        ans = srv.start_order(PHYS, 0, mode=0, value=60)  # one minute paid, by time
        assert ans["result"] == 0 and ans["order"] == ans["sent_order"] and ans["port"] == 0, ans
        order = ans["order"]
        pile.wait(r"order %s: port 1 started time 1" % order, 30)
        until(lambda: srv.piles[PHYS].reports, 30, what="a power report")
        rep = srv.piles[PHYS].reports[-1]
        assert rep["order"] == order and 500 <= rep["now_w"] <= 700 and rep["amps_ma"] > 2000
        srv.faults.update(split=False, dup=False, slow_s=4.0)  # answers late: the pile resends once
        until(lambda: srv.settled(order), 150, what="the settlement")
        srv.faults.update(slow_s=0.0)
        beats = len(srv.piles[PHYS].beats)  # two heartbeats later (a bounded look): no other record
        until(lambda: len(srv.piles[PHYS].beats) >= beats + 2, 60, what="two more heartbeats")
        got = srv.settled(order)
        assert len({s["raw"] for s in got}) == 1  # resends (if any) carry the same record
        s = got[0]
        assert s["reason"] == 3 and s["port"] == 0 and s["start"] == 1, s  # preset time, online start
        assert 60 <= s["duration_s"] <= 61
        sid, mwh, fen, secs = pile.bills()[order]
        assert s["energy_cwh"] == mwh // 10000 and s["duration_s"] == secs
        assert fen == secs  # the money: 1 fen per second, the server's sum of the settlement
        truth_wh = pile.meter.plant.ports[0].energy_wh
        assert mwh <= truth_wh * 1000 + 1 and mwh >= 0.8 * truth_wh * 1000
        pile.wait(r"settled id=%d order=%s" % (sid, order), 30)
        assert "Traceback" not in pile.text()
    finally:
        pile.close()
        srv.close()


def test_settlements_withheld_are_resent_after_a_reconnect_and_counted_once(tmp_path):
    srv = DnyServer(gap_s=0.1).start()
    srv.withhold = True
    pile = Pile(tmp_path / "b", srv.port, settle_retry_s=600)
    try:
        pile.board.power_on()
        srv.wait_pile(90)
        pile.plug(2, 500.0)
        order = srv.start_order(PHYS, 1)["order"]  # until full (stopped by the server)
        pile.wait(r"order %s: port 2 started full" % order, 30)
        assert srv.stop_order(PHYS, 1, order)["result"] == 0
        until(lambda: srv.settled(order), 30, what="the first settlement")
        n = len(srv.settled(order))
        srv.faults["drop_in"] = 1000  # the server goes deaf: two heartbeats unanswered, the pile drops and reconnects
        pile.wait(r"offline: 2 heartbeats unanswered", 60)
        srv.faults["drop_in"] = 0
        srv.withhold = False
        until(lambda: srv.piles[PHYS].connects >= 2 and len(srv.settled(order)) > n, 60,
              what="the settlement again after the reconnect")
        pile.wait(r"settled id=\d+ order=%s" % order, 30)
        assert len({s["raw"] for s in srv.settled(order)}) == 1
    finally:
        pile.close()
        srv.close()
