"""Power cuts on the sim board against the bench CSMS (the helpers of
tests/host/test_ocpp_powercut_{1,2,3}.py): >= 200 SIGKILLs at random instants in all, on six
boards (two in parallel per test file, so the files run on separate workers), each power-on bringing random starts (card taps and remote
starts with a budget), stops, Wi-Fi outages (offline periods) and meter values every 2 s.

At the end every board drains its queue and the pile's own charging journal (never compacted
here) is read from its flash: every session that became an OCPP transaction reached the CSMS
exactly once, with its meterStart, meterStop and reason (PowerLoss when it died with the
power: these piles do not resume sessions), no transactionId confused, no message id
reused but for a retransmission of the same message, and a session that never drew power
is no transaction at all.
"""
import json
import random
import struct
import threading
import time
import zlib

from ocppsim import OcppPile
from upile.csms import Csms, CsmsCallError
from upile.sim.peers.service import ServiceTimeout

CUTS = 35  # per board: 70 per file, 210 over the three files


def journal_records(data):
    """The intact records of a lib/journal.py file (length u16, crc32, payload)."""
    out, i = [], 0
    while i + 6 <= len(data):
        n, crc = struct.unpack_from("<HI", data, i)
        if n == 0 or i + 6 + n > len(data):
            break
        payload = data[i + 6:i + 6 + n]
        if zlib.crc32(payload, zlib.crc32(data[i:i + 2])) & 0xFFFFFFFF == crc:
            out.append(payload)
        i += 6 + n
    return out


def _try(fn, *a):
    try:
        return fn(*a)
    except (CsmsCallError, ConnectionError, TimeoutError, ServiceTimeout, RuntimeError, KeyError):
        return None


def chain(c, idx, seed, out):
    rnd = random.Random(seed)
    cid = "PC%d" % idx
    cfg = {"charging": {"resume_after_power_loss": False, "sample_s": 2, "checkpoint_s": 5,
                        "compact_bytes": 1048576, "unplug_s": 2, "noload_s": 20},
           "ocpp": {"backoff_min_s": 1, "backoff_max_s": 2, "call_timeout_s": 5}}
    with OcppPile(c, cid, cfg=cfg, hold_s=0, power=False) as pile:
        for port in (1, 2):
            pile.plug(port, cc_w=300, wh=10 ** 6, soc=0.1)
        n = 0
        kills = 0
        for k in range(CUTS):
            pile.b.power_on()
            t_cut = time.monotonic() + rnd.uniform(0.3, 4.5)
            wifi = True
            while time.monotonic() < t_cut:
                a = rnd.random()
                port = rnd.choice((1, 2))
                n += 1
                tag = "%s-%d" % (cid, n)
                if a < 0.3:
                    _try(pile.svc.command, "tap %d %s" % (port, tag), 2)
                elif a < 0.5 and pile.p.connected:
                    kind, amount = rnd.choice((("full", 0), ("money", 500), ("time", 30), ("energy", 50)))
                    _try(c.start, cid, port, tag, kind, amount, None, 3)
                elif a < 0.65:
                    running = [t for t, v in pile.p.tx.items() if v["stop"] is None]
                    if running and pile.p.connected:
                        _try(c.stop, cid, rnd.choice(running), 3)
                elif a < 0.72:
                    _try(pile.svc.command, "stop %d" % port, 2)
                elif a < 0.8:
                    if wifi:
                        pile.b.net.drop("depot")
                    else:
                        pile.b.net.restore("depot")
                    wifi = not wifi
                time.sleep(rnd.uniform(0.05, 0.8))
            pile.cut()
            kills += 1
            if not wifi:
                pile.b.net.restore("depot")
        # the end: the pile comes back for good, stops what runs, delivers everything
        pile.b.power_on()
        try:
            c.wait(lambda: pile.p.connected, 60, "%s back" % cid)
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, pile.console()[-4000:]))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            r = _try(pile.svc.command, "status", 5)
            if r and "idle=1" in r[0]:
                bills = _try(pile.svc.command, "bills", 5)
                if bills and bills[0] == "ok bills more=0" and not [t for t, v in pile.p.tx.items() if v["stop"] is None]:
                    break
            for port in (1, 2):
                _try(pile.svc.command, "stop %d" % port, 5)
            time.sleep(1)
        else:
            raise AssertionError("%s did not drain: %s" % (cid, pile.console()[-3000:]))
        pile.cut()
        data = pile.b.read_files(["/data/charging.jnl"])["/data/charging.jnl"]
        out[idx] = (cid, kills, journal_records(data), pile.console())


def check(c, cid, records):
    p = c.pile(cid)
    starts, bills = {}, {}
    for raw in records:
        if raw[:1] != b"{":
            continue
        d = json.loads(raw)
        if d.get("k") == "s":
            starts[d["id"]] = d
        elif d.get("k") == "x":
            assert d["id"] not in bills, "session %d billed twice" % d["id"]
            bills[d["id"]] = d
    assert set(starts) == set(bills), "sessions without a bill: %s" % (set(starts) - set(bills))
    by_tag = {}
    for txid, t in p.tx.items():
        tag = t["start"]["idTag"]
        assert tag not in by_tag, "%s: idTag %s started two transactions (%d, %d)" % (cid, tag, by_tag[tag], txid)
        by_tag[tag] = txid
    txs = 0
    for sid, b in bills.items():
        tag = b.get("tag")
        meter_stop = (b.get("ms", 0) + b.get("mwh", 0)) // 1000
        txid = by_tag.get(tag)
        if txid is None:
            assert not b.get("mwh") and not b.get("s"), "%s session %d (%s) drew power but never reached the CSMS: %r" % (
                cid, sid, tag, b)
            continue
        txs += 1
        t = p.tx[txid]
        assert t["stop"] is not None, "%s transaction %d never stopped" % (cid, txid)
        assert t["start"]["meterStart"] == b.get("ms", 0) // 1000, (cid, sid, t["start"], b)
        assert t["stop"]["meterStop"] == meter_stop, (cid, sid, t["stop"], b)
        assert t["stop"].get("reason", "Local") == b["reason"], (cid, sid, t["stop"], b)
        assert t["start"]["connectorId"] == b["p"]
    assert len(by_tag) == txs, "%s: transactions of no session of the pile" % cid
    assert not p.orphan_stops, p.orphan_stops
    assert not p.violations, p.violations[:5]
    return txs, len(bills)


def run_boards(boards):
    """Power-cut the boards (index, seed) in parallel, then check each: (kills, sessions,
    transactions, stop reasons seen)."""
    out = {}
    with Csms() as c:
        errors = []

        def run(i, seed):
            try:
                chain(c, i, seed, out)
            except Exception as e:  # noqa: BLE001  reported below, with the board's console
                errors.append(e)

        threads = [threading.Thread(target=run, args=b) for b in boards]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[0]
        assert len(out) == len(boards), "a board did not finish"
        kills = sessions = txs = 0
        seen_reasons = set()
        for cid, k, records, console in out.values():
            kills += k
            t, s = check(c, cid, records)
            txs += t
            sessions += s
            seen_reasons |= set(v["stop"].get("reason", "Local") for v in c.pile(cid).tx.values())
        print("power cuts: %d, sessions: %d, OCPP transactions: %d, stop reasons: %s" % (
            kills, sessions, txs, sorted(seen_reasons)))
        return kills, sessions, txs, seen_reasons
