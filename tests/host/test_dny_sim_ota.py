"""DNY's in-band update under our signature, on the sim board over cellular: `upile
dny-server` pushes our release container in 200-byte packets; the pile checks the signed
manifest before it writes anything, streams the rest into its spare slot through the OTA
engine, installs by the usual policy and confirms the trial once its back end answers.
A file without a manifest, one for another product and another release's payload behind a
valid manifest are refused with the protocol's codes and a logged reason; a power cut in
the middle of a transfer costs only what was not saved yet."""
# long: 110 s (started first by tests/conftest.py, so it is not the suite's tail)
import json

from dnysim import PHYS, Pile, config, until
from upile import release
from upile.dnyserver import DnyServer
from upile.sim import otakit
from upile.factory import framed

OTA = {"health_s": 3, "trial_wdt_s": 10, "health_timeout_s": 120, "idle_poll_s": 1}


def _factory(work, port, releases, **dny):
    """A pile running v1 from its factory slot; releases: name -> (version, counter, product)."""
    key, keys = otakit.dev_key(work / "key")
    made = {}
    for name, (ver, counter, product) in releases.items():
        tree = otakit.app_tree(work / ("tree-" + name), ver)
        payload = otakit.make(work / ("rel-" + name), tree, ver, counter, key, product=product)
        made[name] = (tree, payload, release.write_container(work / ("rel-" + name), work / (name + ".upr")))
    tree, payload, _ = made["v1"]
    cfg = config(port, **dny)
    cfg["ota"] = OTA
    files = otakit.factory_files(tree, work / "rel-v1", payload, keys, cfg)
    files["/config/pile.json"] = framed(json.dumps(cfg))
    return files, made


def test_an_in_band_update_installs_and_bad_files_are_refused(tmp_path):
    srv = DnyServer(gap_s=0.01).start()
    files, made = _factory(tmp_path, srv.port, {"v1": ("1.0.0", 1, otakit.PRODUCT), "v2": ("2.0.0", 2, otakit.PRODUCT),
                                                "v3": ("3.0.0", 3, otakit.PRODUCT),
                                                "other": ("2.1.0", 4, "upile-ebike-16")}, gap_ms=5)
    pile = Pile(tmp_path / "b", srv.port, files=files)
    try:
        pile.board.power_on()
        srv.wait_pile(120)
        pile.wait(r"uPile 1\.0\.0 on")
        # a vendor image without our container: refused at its first packet, nothing written
        raw = tmp_path / "vendor.bin"
        raw.write_bytes(b"\x7fELF" + bytes(range(256)) * 40)
        r = srv.push(PHYS, raw, timeout=10)
        assert r["result"] == 5 and r["packet"] == 1, r
        pile.wait(r"in-band update packet 1 refused 05: not_a_release")
        # a release for another product (signed by our key): 03, wrong type
        r = srv.push(PHYS, made["other"][2], timeout=10)
        assert r["result"] == 3 and r["packet"] <= 6, r
        pile.wait(r"OTA push refused wrong_product")
        # v3's manifest over v2's payload (same layout): refused at the first file that differs
        v2, v3 = made["v2"][2].read_bytes(), made["v3"][2].read_bytes()
        h2 = 16 + int.from_bytes(v2[6:8], "little") + int.from_bytes(v2[8:12], "little")
        h3 = 16 + int.from_bytes(v3[6:8], "little") + int.from_bytes(v3[8:12], "little")
        assert len(v3) - h3 == len(v2) - h2  # the versions differ in one character
        mixed = tmp_path / "mixed.upr"
        mixed.write_bytes(v3[:h3] + v2[h2:])
        r = srv.push(PHYS, mixed, timeout=10)
        assert r["result"] == 2, r
        pile.wait(r"OTA push refused bad_sha256: firmware/version.mpy")
        assert "Installing" not in pile.text()
        # v2 with the vendor's trailing check packet: installed, the trial confirmed
        reg = srv.piles[PHYS].reg
        r = srv.push(PHYS, made["v2"][2], check_packet=True, dtype=reg["type"], version=200, timeout=10)
        assert r["result"] == 0, r
        pile.wait(r"OTA Installing app v=2\.0\.0", 60)
        until(lambda: srv.piles[PHYS].connects >= 2, 120, what="the pile back on v2")
        pile.wait(r"uPile 2\.0\.0 on", 60)
        pile.wait(r"OTA Confirmed v=2\.0\.0", 120)
        assert srv.piles[PHYS].reg["fw"] == 200  # 2.0.0 registers as 200
    finally:
        pile.close()
        srv.close()


def test_a_power_cut_in_the_middle_of_a_transfer_and_it_completes(tmp_path):
    srv = DnyServer(gap_s=0.01).start()
    files, made = _factory(tmp_path, srv.port, {"v1": ("1.0.0", 1, otakit.PRODUCT), "v2": ("2.0.0", 2, otakit.PRODUCT)},
                           gap_ms=5)
    pile = Pile(tmp_path / "b", srv.port, files=files)
    try:
        pile.board.power_on()
        srv.wait_pile(120)
        acked = []
        fut = srv.push_async(PHYS, made["v2"][2], timeout=5, resends=3,
                             progress=lambda k, code, pk: acked.append((k, code, pk)))
        n = (made["v2"][2].stat().st_size + 199) // 200
        until(lambda: len(acked) >= n // 2, 120, what="half the packets")
        pile.cut()
        pile.board.power_on()
        r = fut.result(600)
        assert r["result"] == 0, r
        # after the cut the pile asked for the packet after its last saved point, not packet 1
        resent = [pk for k, code, pk in acked if code == 1]
        assert resent and 1 < resent[0] <= n // 2 + 2, (resent[:3], n)
        pile.wait(r"OTA push of v=2\.0\.0 resumed at byte \d+", 60)
        pile.wait(r"uPile 2\.0\.0 on", 120)
        pile.wait(r"OTA Confirmed v=2\.0\.0", 120)
    finally:
        pile.close()
        srv.close()
