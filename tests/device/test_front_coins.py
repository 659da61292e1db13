# heapsize: 512K
# Coins (firmware/front/coins.py through the front's hub): pulses become a journalled
# credit, the credit a money budget on the chosen port; nothing lost or spent twice over a
# power cut at any step (the journal replayed by a new Coins on the same file).
from frontkit import Counter, Kit
from firmware.front.coins import Coins
from firmware.front.core import Front


class Hw:
    bridge = card = voice = panel = None
    missing = []

    def __init__(self, counter):
        self.coins = counter

    def sensors(self):
        return None


def _front(k):
    cnt = Counter()
    f = Front(k.cfg, k.station, k.bus, Hw(cnt), root=k.dir)
    return f, cnt


def test_pulses_become_a_credit_that_survives_a_power_cut():
    k = Kit()
    k.cfg["front"]["coin_fen"] = 50
    f, cnt = _front(k)
    cnt.n = 3  # a 1.50 yuan coin: three pulses
    assert f.coins.poll() == 150 and f.coins.credit == 150
    assert f.coins.poll() == 0
    cnt.n = 7
    assert f.coins.poll() == 200 and f.coins.credit == 350
    # power cut: the counter starts again from 0, the credit comes back from the journal
    again = Coins(k.cfg, Counter(), k.path("coins.jnl"))
    assert again.credit == 350 and again.poll() == 0


def test_the_credit_starts_a_money_session_and_is_spent_once():
    k = Kit()
    f, cnt = _front(k)
    k.plug(2, cc_w=200)
    assert f.coin_start(2) is None and k.says()[-1] == ("refused", 2, "no_credit", None)
    cnt.n = 5
    f.coins.poll()
    sid = f.coin_start(2)
    info = k.station.port(2)
    assert info["id"] == sid and info["method"] == "coin" and (info["kind"], info["amount"]) == ("money", 500)
    assert info["id_tag"].startswith("coin-") and f.coins.credit == 0
    assert Coins(k.cfg, Counter(), k.path("coins.jnl")).credit == 0  # after a power cut: spent, not back
    cnt.n = 6
    f.coins.poll()
    assert f.coin_start(2) is None  # port busy: refused, the credit stays
    assert k.says()[-1] == ("refused", 2, "port_busy", None) and f.coins.credit == 100
    assert Coins(k.cfg, Counter(), k.path("coins.jnl")).credit == 100


def test_a_cut_between_reserving_and_starting_is_settled_at_the_next_boot():
    k = Kit()
    f, cnt = _front(k)
    k.plug(1, cc_w=200)
    cnt.n = 4
    f.coins.poll()
    # the power goes right after the reservation was journalled, before any session
    fen, tag = f.coins.reserve()
    c2 = Coins(k.cfg, Counter(), k.path("coins.jnl"))
    assert c2.credit == 0 and c2.open == (400, tag[5:])
    assert c2.settle_boot(k.station) is None and c2.credit == 400  # no such session: back
    assert Coins(k.cfg, Counter(), k.path("coins.jnl")).credit == 400
    # now the power goes after the session started, before it was recorded as spent
    fen, tag = c2.reserve()
    sid = k.station.start(1, "money", fen, tag, "coin")
    c3 = Coins(k.cfg, Counter(), k.path("coins.jnl"))
    assert c3.settle_boot(k.station) == sid and c3.credit == 0
    assert Coins(k.cfg, Counter(), k.path("coins.jnl")).credit == 0 and Coins(k.cfg, Counter(), k.path("coins.jnl")).open is None
    # the same with the session already over (its bill pending): still spent
    k.station.stop(1)
    k.rig.run(2)
    cnt2 = Counter()
    c4 = Coins(k.cfg, cnt2, k.path("coins.jnl"))
    cnt2.n = 2
    c4.poll()
    fen, tag = c4.reserve()
    sid = k.station.start(1, "money", fen, tag, "coin")
    k.station.stop(1)
    c5 = Coins(k.cfg, Counter(), k.path("coins.jnl"))
    assert c5.settle_boot(k.station) == sid and c5.credit == 0


def test_a_long_life_keeps_the_journal_small():
    k = Kit()
    f, cnt = _front(k)
    k.plug(1, cc_w=200)
    for i in range(120):
        cnt.n += 1
        f.coins.poll()
        sid = f.coin_start(1)
        assert sid is not None
        k.station.stop(1)
        k.rig.run(1)
        k.rig.take()  # the rig's event log would fill the heap
    assert f.coins.j.size() < 5000
    cnt.n += 3
    f.coins.poll()
    assert Coins(k.cfg, Counter(), k.path("coins.jnl")).credit == 300
