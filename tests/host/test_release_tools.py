"""upile keygen / release / verify / serve, as a release engineer uses them."""
import hashlib
import json
import os
import stat
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from mpy import run_mpy  # noqa: E402

from upile import release  # noqa: E402
from upile.cli import main  # noqa: E402
from upile.serve import make_server  # noqa: E402

PRODUCT = "upile-ebike-10"


def _app(tmp_path):
    app = tmp_path / "app"
    for rel, data in {"firmware/app.mpy": b"A" * 300, "firmware/ota/manifest.mpy": b"M" * 70,
                      "lib/journal.mpy": b"J" * 50, "lib/ed25519.mpy": b""}.items():
        p = app / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (app / "notes.txt").write_text("not shipped: outside firmware/ and lib/")
    return app


@pytest.fixture
def keys(tmp_path, capsys):
    assert main(["keygen", "--out", str(tmp_path / "keys")]) == 0
    out = capsys.readouterr().out
    return tmp_path / "keys", out.split()[1]


def test_keygen_writes_private_key_0600_prints_keyid_and_refuses_to_overwrite(tmp_path, keys, capsys):
    kdir, kid = keys
    mode = stat.S_IMODE(os.stat(kdir / "release.key").st_mode)
    assert mode == 0o600
    ring = json.loads((kdir / "keys.json").read_text())
    assert list(ring["keys"]) == [kid] and ring["threshold"] == 1
    pub = bytes.fromhex(ring["keys"][kid])
    assert hashlib.sha256(pub).hexdigest()[:16] == kid
    before = (kdir / "release.key").read_bytes()
    assert main(["keygen", "--out", str(kdir)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    assert (kdir / "release.key").read_bytes() == before


def test_app_release_bundles_sorted_files_with_offsets_and_verifies(tmp_path, keys, capsys):
    kdir, kid = keys
    out = tmp_path / "rel"
    assert main(["release", "--kind", "app", "--version", "1.0.0", "--counter", "7", "--key", str(kdir / "release.key"),
                 "--product", PRODUCT, "--expires", "+30d", "--app", str(_app(tmp_path)), "--out", str(out)]) == 0
    env = json.loads((out / "manifest.dsse.json").read_text())
    assert env["signatures"][0]["keyid"] == kid
    import base64

    p = json.loads(base64.b64decode(env["payload"]))
    idx = (out / "index.txt").read_bytes()  # the file list, signed by its size and hash
    assert p["index"] == {"size": len(idx), "sha256": hashlib.sha256(idx).hexdigest()}
    files = release.read_index(out)
    paths = [f["path"] for f in files]
    assert paths == sorted(paths) == ["firmware/app.mpy", "firmware/ota/manifest.mpy", "lib/ed25519.mpy", "lib/journal.mpy"]
    bundle = (out / "bundle.bin").read_bytes()
    assert p["bundle"] == {"size": len(bundle), "sha256": hashlib.sha256(bundle).hexdigest()}
    assert [f["offset"] for f in files] == [sum(g["size"] for g in files[:i]) for i in range(len(files))]
    for f in files:
        assert hashlib.sha256(bundle[f["offset"]:f["offset"] + f["size"]]).hexdigest() == f["sha256"]
    assert 29 * 86400 < p["expires"] - p["created"] <= 30 * 86400
    capsys.readouterr()
    assert main(["verify", str(out), "--pubkey", str(kdir / "release.pub")]) == 0
    assert "OK" in capsys.readouterr().out
    # the same release verifies on the device with the key ring keygen wrote
    script = tmp_path / "dev.py"
    script.write_text("import sys, json, binascii\nfrom firmware.ota import manifest, keys, index\n"
                      "ring, th = keys.load(sys.argv[1])\n"
                      "p = manifest.check(open(sys.argv[2], 'rb').read(), ring, product=%r, installed_counter=6,"
                      " now=manifest.unix_now(), limits={'threshold': th})\n"
                      "n = index.check_index(open(sys.argv[3], 'rb'), p)\n"
                      "print(p['version'], n, p['_warnings'])\n" % PRODUCT)
    r = run_mpy(script, kdir / "keys.json", out / "manifest.dsse.json", out / "index.txt", check=True)
    assert r.stdout.split() == ["1.0.0", "4", "[]"]


def test_verify_catches_tampering_downgrade_and_wrong_key(tmp_path, keys, capsys):
    kdir, _ = keys
    out = tmp_path / "rel"
    release.make_release(_app(tmp_path), "app", "1.0", 3, kdir / "release.key", PRODUCT, None, out)
    pub = str(kdir / "release.pub")
    assert main(["verify", str(out), "--pubkey", pub, "--installed-counter", "3"]) == 1
    assert "downgrade" in capsys.readouterr().err
    assert main(["verify", str(out), "--pubkey", pub, "--product", "other"]) == 1
    assert "wrong_product" in capsys.readouterr().err
    other = tmp_path / "other"
    main(["keygen", "--out", str(other)])
    capsys.readouterr()
    assert main(["verify", str(out), "--pubkey", str(other / "release.pub")]) == 1
    assert "bad_signature" in capsys.readouterr().err
    idx = (out / "index.txt").read_bytes()
    (out / "index.txt").write_bytes(idx.replace(b" lib/", b" lib/x", 1))  # a file list the key never signed
    assert main(["verify", str(out), "--pubkey", pub]) == 1
    assert "bad_index" in capsys.readouterr().err
    (out / "index.txt").write_bytes(idx)
    b = bytearray((out / "bundle.bin").read_bytes())
    b[310] ^= 1
    (out / "bundle.bin").write_bytes(bytes(b))
    assert main(["verify", str(out), "--pubkey", pub]) == 1
    assert "sha256" in capsys.readouterr().err


def test_image_release(tmp_path, keys, capsys):
    kdir, _ = keys
    img = tmp_path / "micropython.bin"
    img.write_bytes(os.urandom(70000))
    out = tmp_path / "rel"
    assert main(["release", "--kind", "image", "--image", str(img), "--version", "1.29.0", "--counter", "1",
                 "--key", str(kdir / "release.key"), "--product", PRODUCT, "--out", str(out)]) == 0
    assert (out / "image.bin").read_bytes() == img.read_bytes()
    raw_hex = json.loads((kdir / "keys.json").read_text())["keys"].popitem()[1]
    assert main(["verify", str(out), "--pubkey", raw_hex]) == 0


def test_clear_errors_for_missing_key_wrong_key_type_and_bad_input(tmp_path, keys, capsys):
    kdir, _ = keys
    app = str(_app(tmp_path))
    base = ["release", "--kind", "app", "--version", "1", "--counter", "1", "--product", PRODUCT, "--app", app,
            "--out", str(tmp_path / "r")]
    assert main(base + ["--key", str(tmp_path / "nope.key")]) == 1
    assert "cannot read private key" in capsys.readouterr().err
    ec_key = tmp_path / "ec.key"
    ec_key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    assert main(base + ["--key", str(ec_key)]) == 1
    assert "not Ed25519" in capsys.readouterr().err
    assert main(base + ["--key", str(kdir / "release.pub")]) == 1
    assert "private key" in capsys.readouterr().err
    assert main(base[:-4] + ["--app", str(tmp_path / "missing"), "--out", str(tmp_path / "r"),
                             "--key", str(kdir / "release.key")]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(base + ["--key", str(kdir / "release.key"), "--expires", "someday"]) == 1
    assert "--expires" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "nothing"), "--pubkey", str(kdir / "release.pub")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert main(["verify", str(tmp_path), "--pubkey", str(kdir / "release.key")]) == 1
    assert "private key" in capsys.readouterr().err


def _get(url, rng=None):
    req = urllib.request.Request(url, headers={"Range": rng} if rng else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_serve_answers_ranges(tmp_path):
    data = os.urandom(50000)
    (tmp_path / "bundle.bin").write_bytes(data)
    srv = make_server(tmp_path, 0)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        url = "http://127.0.0.1:%d/bundle.bin" % srv.server_address[1]
        st, h, body = _get(url)
        assert st == 200 and body == data and h["Accept-Ranges"] == "bytes"
        st, h, body = _get(url, "bytes=100-199")
        assert st == 206 and body == data[100:200] and h["Content-Range"] == "bytes 100-199/50000"
        st, h, body = _get(url, "bytes=49990-")
        assert st == 206 and body == data[49990:]
        st, h, body = _get(url, "bytes=-10")
        assert st == 206 and body == data[-10:]
        st, h, body = _get(url, "bytes=49000-99999")
        assert st == 206 and body == data[49000:] and h["Content-Range"] == "bytes 49000-49999/50000"
        st, h, _ = _get(url, "bytes=50000-")
        assert st == 416 and h["Content-Range"] == "bytes */50000"
        assert _get(url.replace("bundle.bin", "nope.bin"))[0] == 404
    finally:
        srv.shutdown()
        srv.server_close()
