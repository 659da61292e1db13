"""An OCPP-driven signed update stays in the OTA engine's 64K bound (docs/ocpp.md "Part 2",
docs/ota.md "Memory"): tests/host/ota_mem.py runs one 1.5 MB image update in `micropython -X
heapsize=64K` from the app's .mpy files, here with the whitepaper's signature over the
manifest (opts["signature"] of the OTA service, firmware/ota/extsig.py: the digest taken when
the manifest arrives, the check after the download): RSA-2048 PSS and ECDSA P-256, keys and
signatures made by `upile keygen --ocpp-signing` and `upile release --ocpp-signing`
(tools/upile/fwsign.py). A wrong signature stops it before the install. The app case sits at
the OTA engine's own edge (docs/ocpp.md "Part 2: memory"): bench/ocpp_security.py prints it.
The OCPP charge point's own modules are not in this heap (on a pile they are loaded beside it)."""
import base64
import json
import os
import re
import subprocess
from pathlib import Path


from mpy import micropython_bin
from upile import fwsign, paths
from upile.cmd_build import build
from upile.sim import otakit

from test_ota_memory import HEAP_BYTES, IMAGE_SIZE, app_of

HERE = Path(__file__).parent

# The OTA test's harness (tests/host/ota_mem.py) with the OCPP step added here, not in its file:
# its own 64K run is at the edge, where a few hundred bytes of harness code decide (docs/ocpp.md
# "Part 2: memory"). Each hook is (anchor line in ota_mem.py, lines put after it).
HOOKS = (
    ("    KEYS = f.read()\n",
     "OCPP = len(sys.argv) > 7  # the OCPP step (tests/host/ota_mem_ocpp.py); argv[7]: its folder\n"),
    ('vfs.mount(vfs.VfsPosix(app), "/app")\n',
     'if OCPP:  # its key and signature are read after the download (a pile\'s OCPP state holds them)\n'
     '    vfs.mount(vfs.VfsPosix(sys.argv.pop()), "/ocpp")\n'),
    ('    mark("fetcher dropped")\n',
     "    if OCPP:  # the manifest's digest now (Ota._attempt), its signature after the download\n"
     '        sys.path.append("/ocpp")\n'
     '        import ota_mem_ocpp\n'
     '        OCPP = ota_mem_ocpp.digest(env)\n'
     '        ota_mem_ocpp = None\n'),
    ('    mark("downloaded")\n',
     '    if OCPP:\n'
     '        if not sys.modules["ota_mem_ocpp"].check(OCPP, mark):\n'
     '            raise SystemExit(3)\n'),
)


def compile_harness(out_dir):
    """ota_mem.mpy (with the OCPP hooks) and ota_mem_ocpp.mpy in out_dir."""
    src = (HERE / "ota_mem.py").read_text()
    src = src.replace('    """What Ota._attempt (firmware/ota/service.py) does for one check, phase by phase."""\n',
                      '    """What Ota._attempt (firmware/ota/service.py) does for one check, phase by phase."""\n'
                      '    global OCPP\n', 1)
    for anchor, add in HOOKS:
        if src.count(anchor) != 1:
            raise AssertionError("tests/host/ota_mem.py changed: anchor %r" % anchor)
        src = src.replace(anchor, anchor + add)
    (Path(out_dir) / "ota_mem_hooked.py").write_text(src)
    for name, out in (("ota_mem_hooked.py", "ota_mem.mpy"), ("ota_mem_ocpp.py", "ota_mem_ocpp.mpy")):
        srcp = Path(out_dir) / name if name.startswith("ota_mem_hooked") else HERE / name
        subprocess.run([paths.tool("mpy-cross"), "-march=x64", "-o", str(Path(out_dir) / out), str(srcp)], check=True)

APP_FILES = 120  # bench/ocpp_security.py's app case


def _spec(tmp, kind, good=True):
    d = fwsign.keygen(tmp / ("k-" + kind), kind)
    key = fwsign.load_key(d / fwsign.SIGN_KEY)
    env = (tmp / "srv" / "rel" / "manifest.dsse.json").read_bytes()
    sig = fwsign.sign(key, env if good else env + b" ")
    pub = key.public_key().public_numbers()
    if kind == "rsa":
        line = "rsa %x %d %s" % (pub.n, pub.e, base64.b64encode(sig).decode())
    else:
        line = "ec %x %x %s" % (pub.x, pub.y, base64.b64encode(sig).decode())
    (tmp / "ocpp.txt").write_text(line)
    return tmp / "ocpp.txt"


def run(tmp, kind, good=True, heap="64K", mode="image"):
    key, keys = otakit.dev_key(tmp / "key")
    compile_harness(tmp)
    (tmp / "keys.json").write_text(json.dumps(keys))
    with open(tmp / "flash.bin", "wb") as f:
        f.truncate(2 * 1024 * 1024)
    with open(tmp / "part.bin", "wb") as f:
        f.truncate(0x180000 if mode == "image" else 4096)
    if mode == "image":
        (tmp / "fw.bin").write_bytes(os.urandom(IMAGE_SIZE))
        otakit.make(tmp / "srv" / "rel", tmp / "fw.bin", "2.0.0", 2, key, kind="image")
    else:
        otakit.make(tmp / "srv" / "rel", app_of(APP_FILES, tmp / "tree"), "2.0.0", 2, key)
    spec = _spec(tmp, kind, good)
    ch = otakit.Channel(tmp / "srv")
    try:
        env = dict(os.environ, MICROPYPATH=str(tmp))
        return subprocess.run([micropython_bin(), "-X", "heapsize=" + heap, "-m", "ota_mem", mode, ch.url("rel"),
                               tmp / "keys.json", tmp / "flash.bin", tmp / "part.bin", build("x64"), spec.parent if spec else tmp],
                              env=env, capture_output=True, text=True, timeout=120)
    finally:
        ch.close()


def _check(p):
    assert p.returncode == 0, p.stdout + p.stderr
    assert "ocpp_signature None" in p.stdout and "OK bytes" in p.stdout, p.stdout
    assert int(re.search(r"heap (\d+)", p.stdout).group(1)) <= HEAP_BYTES
    return int(re.search(r"mark ocpp signature checked (\d+)", p.stdout).group(1))


def test_rsa_pss_signed_update_completes_in_a_64k_heap(tmp_path):
    _check(run(tmp_path, "rsa"))


def test_ecdsa_p256_signed_update_completes_in_a_64k_heap(tmp_path):
    _check(run(tmp_path, "ec"))


def test_a_wrong_signature_stops_before_the_install(tmp_path):
    p = run(tmp_path, "ec", good=False)
    assert p.returncode == 3 and "ocpp_signature ('ocpp_signature'" in p.stdout, p.stdout + p.stderr
    assert "OK bytes" not in p.stdout  # stopped before anything else
