"""The PKI operations fit the OTA engine's heap bound, `micropython -X heapsize=64K`, as the
.mpy files `upile build` makes (what a slot holds; compiling x509 from source would not fit),
with gc.threshold(4096) as the OTA service runs, and keep nothing after they return.
tests/host/pki_mem.py is the device side; bench/pki.py prints the same operations' times and
smallest heaps, with and without the threshold."""
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mpy import micropython_bin  # noqa: E402
from upile import paths  # noqa: E402
from upile.cmd_build import build  # noqa: E402

import pki_certs  # noqa: E402

HERE = Path(__file__).parent
OPS = ["rsa_pss", "rsa_pss_4096", "rsa_v15", "ecdsa", "keygen", "sign", "csr"]


def prepare(tmp):
    """Build the app, compile the harness, write its data: -> (lib dir, harness, data, ops)."""
    out = build("x64", Path(tmp) / "x64")
    harness = Path(tmp) / "pki_mem.mpy"
    subprocess.run([paths.tool("mpy-cross"), "-march=x64", "-o", str(harness), str(HERE / "pki_mem.py")], check=True)
    data = Path(tmp) / "pki_data.txt"
    chains = pki_certs.mem_data(data)
    return out / "lib", harness, data, OPS + chains


def run(lib, harness, data, op, heap="64K", rounds=1, threshold=4096):
    """-> dict of the harness's figures, or {"failed": output}."""
    p = subprocess.run([micropython_bin(), "-X", "heapsize=" + heap, "-m", "pki_mem", op, str(data), str(rounds),
                        str(threshold)],
                       env={"MICROPYPATH": "%s:%s" % (harness.parent, lib)}, capture_output=True, text=True,
                       timeout=300)
    lines = p.stdout.split("\n")
    if p.returncode or "ok" not in lines:
        return {"failed": p.stdout[-2000:] + p.stderr[-2000:]}
    return {k: int(v) for k, v in (x.split() for x in lines if x and x != "ok")}


def test_every_operation_fits_64k_and_keeps_nothing(tmp_path):
    lib, harness, data, ops = prepare(tmp_path)
    assert "chain_pss" in ops and "chain_ec" in ops
    for op in ops:
        r = run(lib, harness, data, op, rounds=3)
        assert "failed" not in r, (op, r.get("failed"))
        assert r["kept"] < 256, (op, r)  # no table, cache or leak survives a call
        assert 0 < r["import"] < 40 * 1024, (op, r)


def test_a_wrong_verdict_is_reported(tmp_path):
    # the harness must fail when an operation's verdict is wrong, or the test above proves nothing
    lib, harness, data, ops = prepare(tmp_path)
    lines = data.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("digest "):
            d = bytearray.fromhex(line.split()[1])
            d[0] ^= 1
            lines[i] = "digest " + d.hex()
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(lines) + "\n")
    for op in ("rsa_pss", "rsa_v15", "ecdsa"):
        assert "failed" not in run(lib, harness, data, op), op
        assert "failed" in run(lib, harness, bad, op), op
