"""Power cuts while 10 sessions run: >= 200 SIGKILLs of micropython processes running the
real charging code on a littlefs sim flash. Checks: no acknowledged bill lost or
duplicated, no session billed twice (or differently), no relay on after restart unless its
session was resumed, billed energy never above the energy that actually flowed."""
import json
import os
import random
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from mpy import ROOT, device_path, micropython_bin

CHAINS = 3
KILLS_PER_CHAIN = 70
PROG = str(ROOT / "tests" / "device" / "pc_chip.py")


def _env():
    e = dict(os.environ)
    e["MICROPYPATH"] = device_path()
    return e


def _read_until(p, token, timeout=30):
    """What the chip program printed until `token` (or its exit, or `timeout` s)."""
    head = b""
    deadline = time.monotonic() + timeout
    while token not in head and time.monotonic() < deadline:
        chunk = os.read(p.stdout.fileno(), 65536)  # unbuffered: communicate() reads the rest
        if not chunk:
            break
        head += chunk
    return head


def _chain(wd, seed):
    """Run the chip program again and again, each killed at a random point of its progress
    (counted in its own control steps, so a slow machine cuts as far into the work)."""
    rnd = random.Random(seed)
    with open(os.path.join(wd, "truth.txt"), "wb") as f:
        f.write(b" " * 400)
    outs = []
    kills = 0
    for i in range(KILLS_PER_CHAIN):
        p = subprocess.Popen([micropython_bin(), "-X", "heapsize=256K", PROG, wd, str(seed)], cwd=wd, env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if i % 8 == 7:
            token, spread = b"ACKED", 0.1  # now and then a run that gets as far as an ack
        elif i % 8 == 3:
            token, spread = b"MOUNTED", 0.03  # a cut in recovery (journal replay) or the first steps
        else:
            token, spread = b"STEP %d\n" % (10 * rnd.randint(1, 15)), 0.02
        head = _read_until(p, token)
        # the random instant after that point is the test: the cut lands anywhere in the
        # writes that follow (journal appends, compaction, bill acks)
        time.sleep(rnd.uniform(0.0, spread))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        out, err = p.communicate()
        out = head + out
        text = out.decode(errors="replace")
        if p.returncode not in (-signal.SIGKILL,):
            raise AssertionError("chip program exited %s:\n%s\n%s" % (p.returncode, text[-2000:], err.decode()[-2000:]))
        # a kill can cut the last line in half: keep complete lines only
        outs.append(text[: text.rfind("\n") + 1])
    p = subprocess.run([micropython_bin(), "-X", "heapsize=256K", PROG, wd, str(seed), "final"], cwd=wd, env=_env(),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "DONE" in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
    with open(os.path.join(wd, "truth.txt")) as f:
        truth = [float(x) for x in f.read().split()[:10]]
    return outs, p.stdout, kills, truth


def _check(outs, final_out, truth):
    seen = {}  # id -> bill json (as parsed)
    acked = set()
    acking = set()
    for run in outs:
        for line in run.splitlines():
            assert not line.startswith("VIOLATION"), line
            if line.startswith("BILL "):
                b = json.loads(line[5:])
                assert b["id"] not in acked, "bill %d came back after it was acknowledged" % b["id"]
                if b["id"] in seen:
                    assert seen[b["id"]] == b, "session %d billed twice, differently" % b["id"]
                seen[b["id"]] = b
            elif line.startswith("ACKING "):
                acking.add(int(line.split()[1]))
            elif line.startswith("ACKED "):
                acked.add(int(line.split()[1]))
    final = {}
    for line in final_out.splitlines():
        assert not line.startswith("VIOLATION"), line
        if line.startswith("FINAL "):
            b = json.loads(line[6:])
            assert b["id"] not in final, "bill %d listed twice" % b["id"]
            assert b["id"] not in acked, "acknowledged bill %d came back" % b["id"]
            if b["id"] in seen:
                assert seen[b["id"]] == b
            final[b["id"]] = b
    for sid in seen:
        if sid not in acked and sid not in acking:
            assert sid in final, "unacknowledged bill %d was lost" % sid
    bills = dict(seen)
    bills.update(final)
    per_port = [0] * 10
    for b in bills.values():
        per_port[b["port"] - 1] += b["energy_mwh"]
    for i in range(10):
        assert per_port[i] <= truth[i] * 1000 + 1e-6, "port %d billed %d mWh > metered %.3f Wh" % (i + 1, per_port[i], truth[i])
    ids = sorted(bills)
    assert len(ids) == len(set(ids))
    return len(bills), len(acked)


def test_power_cuts_while_ten_sessions_run(tmp_path):
    dirs = []
    for k in range(CHAINS):
        d = tmp_path / ("chain%d" % k)
        d.mkdir()
        dirs.append(str(d))
    with ThreadPoolExecutor(CHAINS) as ex:
        results = list(ex.map(_chain, dirs, range(1, CHAINS + 1)))
    total_kills = sum(r[2] for r in results)
    assert total_kills >= 200
    n_bills = 0
    for outs, final_out, kills, truth in results:
        nb, na = _check(outs, final_out, truth)
        print("chain: %d kills, %d bills, %d acked" % (kills, nb, na))
        assert nb > 20 and na > 5  # sessions really ended and were acknowledged across cuts
        n_bills += nb
