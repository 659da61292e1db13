"""Power cuts against the storage stack: SimFlash -> littlefs -> journal / fsatomic.

tests/host/powercut_writer.py (run by micropython) appends journal records, replaces atomic
files and compacts, acknowledging each durable write. We SIGKILL it at random moments (some
within milliseconds of start, i.e. during mount/recovery or the first writes), then the next
run remounts and reports what survived. Asserted after every cut: littlefs mounts; every
acknowledged record is there, intact and in order (at most the one in-flight record extra);
the journal needed no repair; atomic files hold exactly the acknowledged or the in-flight
version; compaction shows either the old or the new journal. Several flash files are cut in
parallel so hundreds of cuts take well under a minute.

UPILE_POWERCUT_SEED=<n> replays a run; UPILE_POWERCUT_KILLS=<n> changes the number of cuts.
"""
import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mpy import micropython_bin, device_path  # noqa: E402

WRITER = Path(__file__).with_name("powercut_writer.py")
FLASHES = 3
KILLS = int(os.environ.get("UPILE_POWERCUT_KILLS", "180"))
MAX_OPS = 400  # per run; long enough that nearly every run is killed, not finished


def _env():
    e = dict(os.environ)
    e["MICROPYPATH"] = device_path()
    return e


def _lines(raw):
    """Complete lines only: the kill may cut the last one."""
    return [ln[:-2] for ln in raw.decode(errors="replace").splitlines() if ln.endswith(" .")]


class Expect:
    """What the flash may hold after the next cut, from the acknowledgements seen so far."""

    def __init__(self):
        self.first = {0}  # acceptable first journal index
        self.last = -1  # last acknowledged record
        self.versions = {}  # atomic file -> set of acceptable versions
        self.formatted = False

    def learn(self, lines):
        for ln in lines:
            w = ln.split()
            if w[0] == "J" and w[1] == "ACK":
                self.last = int(w[2])
            elif w[0] == "A" and w[1] == "BEGIN":
                self.versions.setdefault(w[2], {0}).add(int(w[3]))
            elif w[0] == "A" and w[1] == "ACK":
                self.versions[w[2]] = {int(w[3])}
            elif w[0] == "C" and w[1] == "BEGIN":
                self.first.add(int(w[2]))
            elif w[0] == "C" and w[1] == "ACK":
                self.first = {int(w[2])}
            elif w[0] == "FORMATTED":
                self.formatted = True

    def check(self, lines, where):
        """Compare a fresh run's STATE lines with what was acknowledged; return problems."""
        bad = [ln for ln in lines if ln.startswith("BAD")]
        if "READY" not in lines:
            bad.append("no READY line (mount/recovery failed?)")
        for ln in lines:
            w = ln.split()
            if w[:2] == ["STATE", "J"]:
                first, last = int(w[2]), int(w[3])
                if first not in self.first:
                    bad.append("journal starts at %d, expected one of %s" % (first, sorted(self.first)))
                if last not in (self.last, self.last + 1):
                    bad.append("journal ends at %d, acknowledged up to %d" % (last, self.last))
                self.first, self.last = {first}, last
            elif w[:2] == ["STATE", "A"]:
                ok = self.versions.get(w[2], {0})
                if int(w[3]) not in ok:
                    bad.append("atomic %s holds v%s, expected one of %s" % (w[2], w[3], sorted(ok)))
                self.versions[w[2]] = {int(w[3])}
        return ["%s: %s" % (where, b) for b in bad]


def _run(flash, may_format, max_ops, cut=None):
    """Run the writer; cut=(acks, delay): SIGKILL `delay` s after start (acks None) or after
    the writer acknowledged `acks` more durable writes past READY."""
    cmd = [micropython_bin(), "-X", "heapsize=128K", str(WRITER), str(flash), "1" if may_format else "0", str(max_ops)]
    # unbuffered: readline() must not read ahead of what communicate() later collects
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), bufsize=0)
    head = b""
    if cut is not None:
        acks, delay = cut
        if acks is not None:
            ready = False
            while acks > 0:  # the writer prints these or exits, so this cannot hang
                ln = p.stdout.readline()
                head += ln
                if not ln:
                    break
                if ready and ln.startswith(b"J ACK"):
                    acks -= 1
                ready = ready or ln.startswith(b"READY")
        # the random instant is the test: at start-up anywhere in mount and recovery, later
        # anywhere in the write that follows the acknowledged ones
        time.sleep(delay)
        try:
            p.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
    out, err = p.communicate(timeout=60)
    return p.returncode, head + out, err


def _cycle(flash, kills, rng):
    """Cut one flash `kills` times; returns (problems, number of cuts that hit a running writer)."""
    exp = Expect()
    problems, hits = [], 0
    where_cut = {}
    for k in range(kills):
        # a quarter of the cuts land during start-up (mount, recovery, first writes), the
        # rest in the write phase, after a random number of acknowledged writes (counted,
        # not timed, so a slow machine cuts as far into the work as a fast one)
        cut = (None, rng.uniform(0, 0.03)) if rng.random() < 0.25 else (rng.randint(1, 15), rng.uniform(0, 0.01))
        rc, out, err = _run(flash, not exp.formatted, MAX_OPS, cut)
        lines = _lines(out)
        where = "%s cut %d (%.4fs after %s)" % (flash.name, k, cut[1], "start" if cut[0] is None else
                                                 "ack %d past READY" % cut[0])
        if rc == -signal.SIGKILL:
            hits += 1
            tail = lines[-1].split()[:2] if lines else ["start"]
            phase = {"A BEGIN": "atomic write", "C BEGIN": "compaction"}.get(" ".join(tail), "append" if "READY" in lines else "boot/recovery")
            where_cut[phase] = where_cut.get(phase, 0) + 1
        elif rc != 0 or err:
            problems.append("%s: writer failed by itself rc=%s\n%s" % (where, rc, err.decode()[-2000:]))
        if "READY" in lines:
            problems += exp.check(lines[: lines.index("READY") + 1], where)
        exp.learn(lines)
        if problems:
            break
    rc, out, err = _run(flash, False, 0)  # final remount, no writes
    problems += exp.check(_lines(out), "%s final remount" % flash.name)
    if rc != 0:
        problems.append("%s final remount rc=%s %s" % (flash.name, rc, err.decode()[-2000:]))
    return problems, hits, exp.last, where_cut


def test_power_cuts_never_lose_acknowledged_writes(tmp_path):
    seed = int(os.environ.get("UPILE_POWERCUT_SEED") or random.randrange(1 << 31))
    print("power-cut seed %d (replay: UPILE_POWERCUT_SEED=%d)" % (seed, seed))
    per = -(-KILLS // FLASHES)
    with ThreadPoolExecutor(FLASHES) as pool:
        futs = [pool.submit(_cycle, tmp_path / ("flash%d.bin" % i), per, random.Random(seed * 31 + i)) for i in range(FLASHES)]
        results = [f.result() for f in futs]
    problems = [p for r in results for p in r[0]]
    hits = sum(r[1] for r in results)
    phases = {}
    for r in results:
        for k, v in r[3].items():
            phases[k] = phases.get(k, 0) + v
    print("cuts: %d landed while writing; by phase %s; records per flash %s" % (hits, phases, [r[2] + 1 for r in results]))
    assert not problems, "seed %d:\n%s" % (seed, "\n".join(problems[:20]))
    # the cuts really landed while the writer ran, and the runs made progress
    assert hits >= 100 and hits >= 0.9 * per * FLASHES, (seed, hits)
    assert all(r[2] > 200 for r in results), (seed, [r[2] for r in results])


def test_power_cut_while_a_new_flash_file_is_written(tmp_path):
    """A first power-on writes the blank flash image; a cut in the middle must not leave a
    short file that every later power-on refuses as another board's flash."""
    flash = tmp_path / "flash.bin"
    size = 32 * 1024 * 1024
    code = "from chip.simflash import SimFlash\nSimFlash(%r, %d)\nprint('made')" % (str(flash), size)
    cut = 0
    for _ in range(5):
        p = subprocess.Popen([micropython_bin(), "-c", code], env=_env(), stdout=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while p.poll() is None and time.monotonic() < deadline:
            sizes = [f.stat().st_size for f in tmp_path.iterdir()]
            if any(0 < n < size for n in sizes):  # the image is being written: cut now
                p.send_signal(signal.SIGKILL)
                cut += 1
                break
        p.wait()
        assert not flash.exists() or flash.stat().st_size == size, flash.stat().st_size
    assert cut >= 3  # the cuts really fell inside the creation
    p = subprocess.run([micropython_bin(), "-c", code], env=_env(), capture_output=True, text=True, timeout=30)
    assert "made" in p.stdout, p.stderr
    assert flash.stat().st_size == size
