"""The OTA engine's push sink (firmware/ota/push.py), which DNY's in-band update feeds: a
release container in 200-byte pieces into the spare slot or partition, inside micropython on
a littlefs flash (tests/host/push_chip.py). Nothing of a file is written before its signed
manifest checks out; pieces already held are acknowledged without writing them again; power
cuts (SIGKILL at random instants) resume at the last saved point; every file's and the
image's SHA-256 is checked; the installed slot is set pending as a fetched one is."""
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

from mpy import ROOT, device_path, micropython_bin
from upile import release
from upile.sim import otakit

CHIP = str(Path(__file__).parent / "push_chip.py")
PKT = 200


class Work:
    def __init__(self, d):
        self.d = Path(d)
        self.key, keys = otakit.dev_key(self.d / "key")
        (self.d / "keys.json").write_text(json.dumps(keys))

    def app(self, name, version="2.5.0", counter=2, product=otakit.PRODUCT, seed=1):
        t = self.d / ("tree-" + name)
        rnd = random.Random(seed)
        for i, n in enumerate([0, 1, 199, 200, 201, 5000, 12000, 40000, 9000]):
            p = t / "firmware" / ("m%02d.mpy" % i)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(bytes(rnd.getrandbits(8) for _ in range(n)))
        (t / "lib").mkdir(exist_ok=True)
        (t / "lib" / "x.mpy").write_bytes(b"abc" * 100 + bytes([seed]))
        release.make_release(t, "app", version, counter, self.key, product, "+30d", self.d / ("rel-" + name))
        return release.write_container(self.d / ("rel-" + name), self.d / (name + ".upr"))

    def image(self, name, size=300 * 1024, seed=3, counter=2):
        rnd = random.Random(seed)
        img = self.d / (name + ".bin")
        img.write_bytes(b"\xe9" + bytes(rnd.getrandbits(8) for _ in range(size - 1)))
        release.make_release(img, "image", "3.0.0", counter, self.key, otakit.PRODUCT, "+30d", self.d / ("rel-" + name))
        return release.write_container(self.d / ("rel-" + name), self.d / (name + ".upr"))

    def board(self, name):
        """A fresh flash and partition file."""
        b = self.d / ("board-" + name)
        b.mkdir()
        (b / "flash.bin").write_bytes(b"\xff" * (1024 * 1024))
        (b / "part.bin").write_bytes(b"\xff" * (1536 * 1024))
        return b

    def args(self, board, container, plan):
        return [micropython_bin(), "-X", "heapsize=256K", CHIP, str(board / "flash.bin"), str(board / "part.bin"),
                str(self.d / "keys.json"), str(container), plan, str(ROOT)]

    def run(self, board, container, plan):
        env = dict(os.environ, MICROPYPATH=device_path())
        p = subprocess.run(self.args(board, container, plan), env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0 and "DONE" in p.stdout, p.stdout[-3000:] + p.stderr[-3000:]
        return [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{") and "\"step\"" in x], p.stdout

    def cut(self, board, container, after):
        """Feed in order and SIGKILL the chip after `after` pieces were taken (a power cut)."""
        env = dict(os.environ, MICROPYPATH=device_path())
        p = subprocess.Popen(self.args(board, container, "feed:0:100000"), env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        seen = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and seen.count(b"PIECE ") < after and p.poll() is None:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
        p.send_signal(signal.SIGKILL)
        p.communicate()
        return seen.count(b"PIECE ")


def _pieces(path):
    return (os.path.getsize(path) + PKT - 1) // PKT


def test_an_app_release_in_order_then_installed(tmp_path):
    w = Work(tmp_path)
    c = w.app("a")
    data = Path(c).read_bytes()
    out, text = w.run(w.board("1"), c, "feed:0:%d,feed:0:%d,install" % (_pieces(c), _pieces(c)))
    done, again, inst = out
    assert done["state"] == "done" and done["held"] == len(data)
    assert done["sum"] == sum(data) & 0xFFFFFFFF  # the vendor's check packet compares this
    assert again["writes"] == 0 and again["held"] == len(data)  # all acknowledged, nothing written again
    assert inst["result"] == "installed" and inst["resets"] == ["install"]
    st = inst["state_file"]
    assert st["pending"] == "b" and st["slots"]["b"]["version"] == "2.5.0" and st["slots"]["b"]["counter"] == 2
    assert "OTA SignatureVerified ok v=2.5.0" in text and "OTA Downloaded app v=2.5.0" in text


def test_pieces_held_are_acknowledged_and_a_gap_is_not_taken(tmp_path):
    w = Work(tmp_path)
    c = w.app("a")
    n = _pieces(c)
    out, _ = w.run(w.board("1"), c, "feed:0:120,feed:0:120,feed:125:126,feed:120:%d" % n)
    first, again, gap, rest = out
    assert first["held"] == 120 * PKT and again["writes"] == 0 and again["held"] == 120 * PKT
    assert gap["held"] == 120 * PKT and gap.get("gap_at") == 125  # the caller asks for piece 120
    assert rest["state"] == "done"


def test_nothing_is_written_before_the_manifest_checks_out(tmp_path):
    w = Work(tmp_path)
    good = Path(w.app("a")).read_bytes()
    bad = {}
    bad["raw"] = b"\x7fELF" + bytes(range(256)) * 200  # a vendor firmware image, no container
    other = Path(w.app("other", product="upile-ebike-16", seed=2)).read_bytes()
    bad["product"] = other
    sig = good.index(b'"sig"') + 12  # a byte inside the signature's base64
    bad["signature"] = good[:sig] + (b"A" if good[sig:sig + 1] != b"A" else b"B") + good[sig + 1:]
    old = Path(w.app("old", version="0.9.0", counter=1, seed=4)).read_bytes()
    bad["counter"] = old
    want = {"raw": "not_a_release", "product": "wrong_product", "signature": "bad_signature",
            "counter": "downgrade"}
    for name, data in bad.items():
        f = tmp_path / (name + ".bin")
        f.write_bytes(data)
        out, text = w.run(w.board(name), f, "feed:0:%d,feed:1:2" % _pieces(f))
        assert out[0]["error"] == want[name], (name, out)
        assert out[0]["writes"] == 0, (name, out)  # not a byte of it on flash
        assert out[1]["error"] == want[name]  # every later piece of that file: the same refusal
        assert "OTA push refused %s" % want[name] in text


def test_another_releases_payload_behind_a_manifest_is_refused(tmp_path):
    w = Work(tmp_path)
    a = Path(w.app("a", seed=1)).read_bytes()
    b = Path(w.app("b", seed=7)).read_bytes()  # same layout and sizes, other bytes
    head = 16 + int.from_bytes(a[6:8], "little") + int.from_bytes(a[8:12], "little")
    bh = 16 + int.from_bytes(b[6:8], "little") + int.from_bytes(b[8:12], "little")
    mixed = a[:head] + b[bh:]
    assert len(mixed) == len(a)
    f = tmp_path / "mixed.upr"
    f.write_bytes(mixed)
    out, text = w.run(w.board("1"), f, "feed:0:%d" % _pieces(f))
    assert out[0]["error"] == "bad_sha256" and out[0]["state"] == "failed"
    # an image: the hash is checked at the end
    i1 = Path(w.image("i1", seed=3)).read_bytes()
    i2 = Path(w.image("i2", seed=5)).read_bytes()
    h1 = 16 + int.from_bytes(i1[6:8], "little")
    h2 = 16 + int.from_bytes(i2[6:8], "little")
    f = tmp_path / "mixed-image.upr"
    f.write_bytes(i1[:h1] + i2[h2:])
    out, _ = w.run(w.board("2"), f, "feed:0:%d" % _pieces(f))
    assert out[0]["error"] == "bad_sha256" and out[0]["detail"] == "image"


def test_power_cuts_resume_where_the_progress_was_saved(tmp_path):
    w = Work(tmp_path)
    rnd = random.Random(5)
    for kind in ("app", "image"):
        c = w.app("a") if kind == "app" else w.image("i", size=400 * 1024)
        n = _pieces(c)
        data = Path(c).read_bytes()
        fresh, _ = w.run(w.board(kind + "-fresh"), c, "restart")
        full_writes = fresh[0]["writes"]
        board = w.board(kind)
        # two cuts at random pieces; each time the server starts over at the first piece
        for _ in range(2):
            assert w.cut(board, c, rnd.randrange(n // 3, n - 5)) > 0
        out, text = w.run(board, c, "restart,install")
        r, inst = out
        assert r["state"] == "done" and r["sum"] == sum(data) & 0xFFFFFFFF, r
        resumed = [int(x.split()[-3]) for x in text.splitlines() if "resumable at byte" in x]
        assert resumed and 0 < resumed[0] < len(data), text[-2000:]
        assert r["writes"] < full_writes, (r["writes"], full_writes)  # what was saved is not written again
        assert inst["result"] == "installed", inst
        if kind == "app":
            assert inst["state_file"]["pending"] == "b"
        else:
            assert "set_boot" in text and inst["state_file"]["image"]["version"] == "3.0.0"
