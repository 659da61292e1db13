"""`upile fsimage`: a factory-fresh pile in a littlefs image that MicroPython mounts."""
import json
import subprocess
import sys
from pathlib import Path

from upile import hostconfig, lfsimage

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def upile(*args):
    return subprocess.run([str(BIN / "upile"), *map(str, args)], capture_output=True, text=True, timeout=300)


def test_image_holds_a_factory_fresh_pile_read_alike_by_both_littlefs_readers(tmp_path):
    cfg = tmp_path / "pile.json"
    cfg.write_text(json.dumps({"pile": {"id": "PILE-0042", "ports": 12}}))
    out = tmp_path / "vfs.bin"
    r = upile("fsimage", "--out", out, "--config", cfg, "--arch", "x64")
    assert r.returncode == 0, r.stderr
    image = out.read_bytes()
    assert len(image) == 0xF0000
    host = lfsimage.walk_host(image)
    dev, (bsize, blocks, free) = lfsimage.walk_device(image)
    assert host == dev
    assert bsize == 4096 and blocks == 0xF0000 // 4096 and free > 0
    for path in ("/boot.py", "/main.py", "/lib/fsatomic.mpy", "/lib/log.mpy", "/slots/a/firmware/app.mpy",
                 "/slots/a/firmware/config.mpy", "/slots/a/lib/journal.mpy", "/config/pile.json", "/ota/state.json"):
        assert path in host, path
    assert not [p for p in host if "sim" in p.rsplit("/", 1)[-1]]  # nothing of the sim chip ships


def test_config_in_the_image_is_what_the_firmware_loader_reads(tmp_path):
    cfg = tmp_path / "pile.json"
    cfg.write_text(json.dumps({"pile": {"id": "PILE-0099", "ports": 16}}))
    out = tmp_path / "vfs.bin"
    assert upile("fsimage", "--out", out, "--config", cfg, "--arch", "x64").returncode == 0
    script = tmp_path / "load.py"
    script.write_text(
        "import sys, vfs\n"
        "from chip.simflash import SimFlash\n"
        "vfs.mount(vfs.VfsLfs2(SimFlash(sys.argv[1])), '/img')\n"
        "from firmware import config\n"
        "c = config.load('/img/config/pile.json')\n"
        "print(c['pile']['id'], c['pile']['ports'])\n")
    p = subprocess.run([str(BIN / "micropython"), str(script), str(out)], capture_output=True, text=True,
                       env={"MICROPYPATH": "%s:%s" % (ROOT, ROOT / "lib")}, timeout=60)
    assert p.stdout.split() == ["PILE-0099", "16"], p.stdout + p.stderr


def test_bad_config_or_size_writes_no_image(tmp_path):
    out = tmp_path / "vfs.bin"
    bad = tmp_path / "bad.json"
    for content, why in [
        ({"pile": {"ports": 99}}, "pile.ports: 99 is above 16"),
        ({"pile": {"colour": "red"}}, "unknown key pile.colour"),
        ({"pile": {"ports": "12"}}, "pile.ports: expected an integer"),
        ({"pilot": {}}, "unknown section 'pilot'"),
    ]:
        bad.write_text(json.dumps(content))
        r = upile("fsimage", "--out", out, "--config", bad, "--arch", "x64")
        assert r.returncode == 1 and r.stderr.startswith("upile: ") and why in r.stderr, r.stderr
        assert not out.exists()
    bad.write_text("{\"pile\": {")
    r = upile("fsimage", "--out", out, "--config", bad)
    assert r.returncode == 1 and "not valid JSON (line 1" in r.stderr
    r = upile("fsimage", "--out", out, "--size", 5000, "--arch", "x64")
    assert r.returncode == 1 and "multiple of 4096" in r.stderr
    r = upile("fsimage", "--out", out, "--size", 16 * 4096, "--arch", "x64")
    assert r.returncode == 1 and "do not fit" in r.stderr
    r = upile("fsimage", "--out", out, "--config", tmp_path / "missing.json")
    assert r.returncode == 1 and "cannot read config" in r.stderr
    assert not out.exists()


def test_secrets_are_masked_in_errors_and_summaries():
    cfg = {"wifi": {"networks": [{"ssid": "depot", "key": "hunter2-wpa"}]},
           "backend": {"url": "wss://csms", "password": "s3cret!"}}
    shown = json.dumps(hostconfig.masked(cfg))
    assert "hunter2-wpa" not in shown and "s3cret!" not in shown and "depot" in shown
    msg = hostconfig.scrub("backend.password: 's3cret!' is above 8; wifi key hunter2-wpa", cfg)
    assert "s3cret!" not in msg and "hunter2-wpa" not in msg and "backend.password" in msg
