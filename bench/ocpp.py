"""OCPP benchmark (docs/ocpp.md "Figures"): prints
- the OCPP layer's heap, idle and peak with 10 ports charging (all six measurands every 10 s),
  over a real WebSocket to the bench CSMS: with the .mpy modules loaded into the heap (the
  pip-installed Unix port), and with the app frozen into the interpreter as an ESP32 image
  holds it (a Unix MicroPython this bench builds from a MicroPython source tree);
- the whole firmware on the sim board (OCPP + OTA idle + 10 ports charging + Wi-Fi): the
  smallest `-X heapsize` it runs in, frozen, and what 128K does;
- the same frozen figures on a 32-bit x86 build (an ESP32's word size; needs `gcc -m32`,
  Debian's gcc-multilib, else "not measured"): the layer, the whole firmware's smallest heap
  (16K steps), idle with and without a back end, the sim chip's own shims' heap (given with
  and without it) and the heap by start step (bench/heapsteps.py);
- link restored to the first queued message delivered, and queued messages delivered per
  second after an outage (sim board);
- bytes one session costs on the (cellular) data budget.

The frozen interpreter needs a MicroPython v1.29 source tree in UPILE_MPY_SRC (or
build/micropython-src): `git clone -b v1.29.0 https://github.com/micropython/micropython`
(no submodules: it is built without TLS; bench/frozen/hashlib.py gives SHA-1). Without it
those figures say so and the others are printed.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# this file is named ocpp.py: its folder must not shadow the `ocpp` package the CSMS runs on
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "host"))
sys.path.insert(0, str(ROOT / "tools"))
from mpy import micropython_bin  # noqa: E402

from upile import cmd_build, paths  # noqa: E402
from upile.csms import Csms  # noqa: E402

FROZEN = ROOT / "build" / "unix-frozen"


def _kb(n):
    return "%.1f KB" % (n / 1024.0)


def have_32bit_cc():
    """True when gcc can build and link a 32-bit x86 program here (Debian: gcc-multilib)."""
    with tempfile.TemporaryDirectory() as tmp:
        c = Path(tmp) / "t.c"
        c.write_text("int main(void) { return sizeof(void *) == 4 ? 0 : 1; }\n")
        try:
            r = subprocess.run(["gcc", "-m32", "-o", str(Path(tmp) / "t"), str(c)], capture_output=True)
        except OSError:
            return False
        return r.returncode == 0 and subprocess.run([str(Path(tmp) / "t")]).returncode == 0


def frozen_binary(bits=64):
    """The bench's Unix MicroPython with the app and the sim chip frozen in (built when the
    app changed), 64-bit or 32-bit x86 (as an ESP32's 4-byte words); None without a source
    tree (or, for 32-bit, without a 32-bit toolchain: say which with frozen_missing)."""
    src = Path(os.environ.get("UPILE_MPY_SRC", ROOT / "build" / "micropython-src"))
    if not (src / "ports" / "unix" / "Makefile").exists():
        return None
    out = FROZEN if bits == 64 else FROZEN.with_name("unix-frozen32")
    prog = out / "micropython"
    newest = max(p.stat().st_mtime for d in ("firmware", "lib", "chip", "bench/frozen")
                 for p in (ROOT / d).rglob("*.py"))
    if prog.exists() and prog.stat().st_mtime > newest:
        return prog
    if bits == 32 and not have_32bit_cc():
        return None
    lib = out / "no-micropython-lib"  # nothing from micropython-lib is frozen
    lib.mkdir(parents=True, exist_ok=True)
    (lib / "README.md").write_text("empty on purpose\n")
    subprocess.run(["make", "-C", str(src / "mpy-cross"), "-j2"], check=True, capture_output=True)
    # the frozen viper functions are compiled for the binary's own architecture
    arch = ["MPY_CROSS_FLAGS=-march=x64"] if bits == 64 else [
        "MPY_CROSS_FLAGS=-march=x86", "CFLAGS_EXTRA=-m32", "LDFLAGS_EXTRA=-m32"]
    r = subprocess.run(["make", "-C", str(src / "ports" / "unix"), "-j2", "VARIANT=standard", "BUILD=%s" % out,
                        "FROZEN_MANIFEST=%s" % (ROOT / "bench" / "frozen" / "manifest.py"),
                        "MPY_LIB_DIR=%s" % lib, "MICROPY_PY_BTREE=0", "MICROPY_PY_FFI=0",
                        "MICROPY_SSL_AXTLS=0", "MICROPY_SSL_MBEDTLS=0", "MICROPY_PY_SSL=0"] + arch,
                       capture_output=True, text=True)
    if r.returncode:
        print("frozen build (%d-bit) failed:\n" % bits + r.stdout[-2000:] + r.stderr[-2000:])
        return None
    return prog


def layer_heap(binary, path):
    """FIG lines of bench/_ocpp_device.py run by `binary` with MICROPYPATH `path`."""
    with Csms() as c, tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MICROPYPATH=path, UPILE_TMP=tmp)
        p = subprocess.run([str(binary), "-X", "heapsize=1M", str(ROOT / "bench" / "_ocpp_device.py"),
                            c.url, tmp + "/ocpp"], cwd=tmp, env=env, capture_output=True, text=True, timeout=900)
        figs = {}
        for line in p.stdout.splitlines():
            if line.startswith("FIG "):
                _, k, v = line.split(" ", 2)
                figs[k] = v
        if "done" not in figs:
            print("device bench failed:\n" + p.stdout[-3000:] + p.stderr[-2000:])
        txs = len(c.pile("BENCH").tx)
        figs["csms_transactions"] = txs
        return figs


def report_layer(name, f):
    """The OCPP layer's heap: its modules' objects, its state and connection; the pile's own
    cost of 10 sessions (measured alone first) is taken off the charging figures."""
    i = lambda k: int(f.get(k, 0))  # noqa: E731
    s = i("pile_sessions")
    print("OCPP layer heap, %s: modules %s; idle (modules + state + connection) %s; 10 ports charging: %s live, "
          "peak %s live (gc every step), %s with garbage between collections; state alone (without modules) idle "
          "%s, peak %s; %s transaction messages in %s simulated seconds" % (
              name, _kb(i("ocpp_modules")), _kb(i("idle")), _kb(i("charging_live") - s), _kb(i("peak_live") - s),
              _kb(i("peak_raw") - s), _kb(i("idle") - i("ocpp_modules")), _kb(i("peak_live") - s - i("ocpp_modules")),
              f.get("tx_sent"), f.get("sim_seconds")))
    return f


def whole_firmware(binary, heap, seconds=40, main_prefix=b"", console=None):
    """The whole firmware on the sim board with `binary` in `heap`: (ok, live bytes, note).
    main_prefix: code run ahead of main.py (bench/heapsteps.py's probes); console: a list
    that gets the chip's console text."""
    from upile.sim import demo_charging, otakit
    from upile.sim.board import SimBoard
    from upile.sim.peers.meter import MeterPeer

    with Csms() as c, tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "no-chip-modules"
        empty.mkdir()
        _, keys = otakit.dev_key(Path(tmp) / "devkey")
        ch = otakit.Channel(Path(tmp) / "srv")  # an update server with no release yet: OTA idles
        b = SimBoard(Path(tmp) / "b", heap=heap)
        b.micropython, b.chip_dir = str(binary), empty
        try:
            meter = MeterPeer(demo_charging.board_pins("esp32-10p"), n=10, hold_s=0)
            b.attach_uart(2, meter)
            cfg = {"pile": {"id": "WHOLE", "ports": 10}, "modem": {"enabled": False}, "net": {"ntp_host": ""},
                   "wifi": {"networks": [{"ssid": "ap", "key": "secret-123"}]}, "charging": {"sample_s": 10},
                   "ota": {"url": ch.url(), "allow_http": True, "check_s": 20, "jitter_s": 5, "first_check_s": 3},
                   "backend": {"protocol": "ocpp"}, "ocpp": {"url": c.url, "sampled_data": "Energy.Active.Import.Register,Power.Active.Import,"
                            "Voltage,Current.Import,Power.Factor,Temperature"}}
            b.install_files({"/boot.py": (ROOT / "boot.py").read_bytes(),
                             "/main.py": main_prefix + (ROOT / "main.py").read_bytes(),
                             "/config/pile.json": json.dumps(cfg).encode(), "/config/keys.json": json.dumps(keys).encode()})
            b.net.add_ap("ap", "secret-123")
            b.power_on()
            try:
                c.wait_pile("WHOLE", 40)
                for i in range(1, 11):
                    meter.command("plug %d 300 5000 0.2" % i)
                    c.start("WHOLE", i, "w%d" % i, "money", 500)
                c.wait(lambda: len(c.pile("WHOLE").tx) == 10, 40, "10 transactions")
            except (AssertionError, ConnectionError, TimeoutError) as e:
                text = b.console_text()
                why = "MemoryError; " if "MemoryError" in text else ""
                return False, None, why + str(e).split("\n")[0]
            time.sleep(seconds)
            text = b.console_text()
            if "MemoryError" in text or "app failed" in text:
                return False, None, "MemoryError"
            values = sum(len(t["values"]) for t in c.pile("WHOLE").tx.values())
            out = b.exec("import gc; gc.collect(); print(gc.mem_alloc())", timeout=30)
            live = int(out.strip().split()[-1])
            return True, live, "%d meter values in %d s" % (values, seconds)
        finally:
            if console is not None:
                console.append(b.console_text())
            b.close()
            ch.close()


def idle_firmware(binary, protocol):
    """Live heap of the whole firmware idle (10 ports, Wi-Fi, OTA idle) in a roomy heap, with
    backend.protocol `protocol` (none | ocpp, connected): what OCPP adds to the app."""
    from upile.sim import otakit
    from upile.sim.board import SimBoard

    with Csms() as c, tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "no-chip-modules"
        empty.mkdir()
        _, keys = otakit.dev_key(Path(tmp) / "devkey")
        ch = otakit.Channel(Path(tmp) / "srv")
        b = SimBoard(Path(tmp) / "b", heap="1M")
        b.micropython, b.chip_dir = str(binary), empty
        try:
            cfg = {"pile": {"id": "IDLE", "ports": 10}, "modem": {"enabled": False}, "net": {"ntp_host": ""},
                   "wifi": {"networks": [{"ssid": "ap", "key": "secret-123"}]},
                   "ota": {"url": ch.url(), "allow_http": True, "check_s": 20, "jitter_s": 5, "first_check_s": 3},
                   "backend": {"protocol": protocol}}
            if protocol == "ocpp":
                cfg["ocpp"] = {"url": c.url}
            b.install_files({"/boot.py": (ROOT / "boot.py").read_bytes(), "/main.py": (ROOT / "main.py").read_bytes(),
                             "/config/pile.json": json.dumps(cfg).encode(), "/config/keys.json": json.dumps(keys).encode()})
            b.net.add_ap("ap", "secret-123")
            b.power_on()
            if protocol == "ocpp":
                c.wait_pile("IDLE", 40)
            else:
                c.wait(lambda: "link: up" in b.console_text(), 40, "the link up")
            time.sleep(8)  # a bench: the OTA check and the statuses done
            out = b.exec("import gc; gc.collect(); print(gc.mem_alloc())", timeout=30)
            return int(out.strip().split()[-1])
        finally:
            b.close()
            ch.close()


def bare_heap(binary):
    """Live heap of `binary` with nothing imported: the interpreter's own start."""
    r = subprocess.run([str(binary), "-X", "heapsize=1M", "-c", "import gc; gc.collect(); print(gc.mem_alloc())"],
                       capture_output=True, text=True, timeout=60)
    return int(r.stdout.split()[-1])


def chip_alone(binary):
    """The sim chip started with no /boot.py or /main.py: (its live heap, of it the flash
    mount: littlefs and its block device, of it the SimFlash block device alone). What
    the chip's Python shims (machine, network, socket, esp32, simflash, the link) hold
    beyond the bare interpreter is heap a real ESP32 does not use: its modules are in C."""
    from upile.sim.board import SimBoard

    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "no-chip-modules"
        empty.mkdir()
        b = SimBoard(Path(tmp) / "b", heap="1M")
        b.micropython, b.chip_dir = str(binary), empty
        try:
            b.power_on()
            b.wait_console(">>> ", 30)
            out = b.exec("import gc, vfs\ngc.collect(); a = gc.mem_alloc()\n"
                         "vfs.umount('/')\ngc.collect(); print(a, a - gc.mem_alloc())", timeout=30)
            chip, mount = (int(x) for x in out.split()[-2:])
            # the block device alone, opened by the bare interpreter on a copy of that flash
            flash = Path(tmp) / "flash.bin"
            flash.write_bytes(b.flash_path.read_bytes())
            r = subprocess.run([str(binary), "-X", "heapsize=1M", "-c",
                                "import gc, sys\nfrom simflash import SimFlash\ngc.collect(); a = gc.mem_alloc()\n"
                                "bd = SimFlash(sys.argv[1])\ngc.collect(); print(gc.mem_alloc() - a)", str(flash)],
                               capture_output=True, text=True, timeout=60)
            return chip, mount, int(r.stdout.split()[-1])
        finally:
            b.close()


def smallest_heap(binary, first_kb=128, step_kb=16, low_kb=48, high_kb=512):
    """The smallest -X heapsize (a multiple of step_kb) the whole firmware runs in, searched
    from first_kb: ([(heap, ok, live, note)...] in the order tried, the smallest that ran)."""
    tried, best = [], None
    kb = first_kb
    while low_kb <= kb <= high_kb and kb not in [t[0] for t in tried]:
        ok, live, note = whole_firmware(binary, "%dK" % kb)
        tried.append((kb, ok, live, note))
        if ok:
            best = (kb, live, note)
            kb -= step_kb
        elif best:
            break
        else:
            kb += step_kb
    return tried, best


def frozen32_figures():
    """The frozen figures again on a 32-bit x86 build (pointers and object headers the size
    of an ESP32's): the OCPP layer, the whole firmware's smallest heap, idle with and
    without a back end, and the sim chip's own shims, given with and without them."""
    prog = frozen_binary(32)
    if prog is None:
        print("32-bit figures: not measured: no 32-bit toolchain (Debian: apt-get install gcc-multilib) "
              "or no MicroPython source tree")
        return
    ff = layer_heap(prog, ":".join([".frozen", str(ROOT / "tests" / "device"), str(ROOT)]))
    report_layer("app frozen (32-bit x86)", ff)
    bare = bare_heap(prog)
    chip, mount, simflash = chip_alone(prog)
    shims = chip - bare - (mount - simflash)  # the littlefs mount itself is on an ESP32 too
    print("sim chip alone (32-bit, frozen, no app): %s live; the bare interpreter %s; the flash mount %s (of it "
          "the SimFlash block device %s); the chip's Python shims: %s a real ESP32 does not hold"
          % (_kb(chip), _kb(bare), _kb(mount), _kb(simflash), _kb(shims)))
    tried, best = smallest_heap(prog)
    for kb, ok, live, note in tried:
        what = "runs, %s live (%s without the shims), %s" % (_kb(live), _kb(live - shims), note) if ok else \
            "fails (%s)" % note
        print("whole firmware (OCPP + OTA idle + 10 ports charging + Wi-Fi, sim chip, app frozen, 32-bit) in "
              "-X heapsize=%dK: %s" % (kb, what))
    if best:
        print("whole firmware, 32-bit: smallest heap it runs in %dK (16K steps), %s live; without the sim chip's "
              "shims %s" % (best[0], _kb(best[1]), _kb(best[1] - shims)))
    import importlib.util

    spec = importlib.util.spec_from_file_location("heapsteps", ROOT / "bench" / "heapsteps.py")
    hs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hs)
    r = hs.steps(prog, whole_firmware)
    if r:
        hs.report("app frozen, 32-bit, 1M heap; the sim chip's shims in 'before the app'", r)
    none, ocpp = idle_firmware(prog, "none"), idle_firmware(prog, "ocpp")
    print("whole firmware idle (10 ports, Wi-Fi, OTA idle, app frozen, 32-bit, 1M heap): %s live without a back end "
          "(%s without the shims), %s with OCPP connected (%s; +%s)" % (
              _kb(none), _kb(none - shims), _kb(ocpp), _kb(ocpp - shims), _kb(ocpp - none)))


def queue_figures():
    """(s from the radio link up to the first queued message at the CSMS, queued messages
    delivered per second, how many) on the sim board: 2 ports, a value a second each, 60 s
    offline (Wi-Fi gone), then the access point back."""
    from ocppsim import OcppPile

    with Csms() as c:
        cfg = {"charging": {"sample_s": 1, "unplug_s": 60}, "net": {"check_ms": 200}}
        with OcppPile(c, "QUEUE", cfg=cfg, hold_s=0) as pile:
            for port in (1, 2):
                pile.plug(port)
                pile.tap(port, "q%d" % port)
            c.wait(lambda: len(pile.p.tx) == 2, 30, "two transactions")
            pile.b.net.drop("depot")
            c.wait(lambda: not pile.p.connected, 30, "offline")
            time.sleep(60)
            mark = c.mark("QUEUE")
            t_restore = time.monotonic()
            pile.b.net.restore("depot")
            up = pile.b.wait_event("link", match=lambda d: d == ("wlan", "up"), timeout=60, since=t_restore)
            time.sleep(20)
            arrivals = [t for t, d, x in pile.p.log[mark:] if d == "in" and '"MeterValues"' in x]
            # the queued ones came back to back; later ones come one a second per port
            queued = [arrivals[0]]
            for t in arrivals[1:]:
                if t - queued[-1] > 0.25:
                    break
                queued.append(t)
            rate = (len(queued) - 1) / max(queued[-1] - queued[0], 0.001)
            return queued[0] - up[0], rate, len(queued)


def main():
    cmd_build.build("x64")
    build = paths.BUILD / "x64"
    path = ":".join([".frozen", str(ROOT / "tests" / "device"), str(build), str(build / "lib"), str(ROOT)])
    f = layer_heap(micropython_bin(), path)
    report_layer(".mpy in the heap (pip Unix port, 64-bit)", f)
    prog = frozen_binary()
    if prog is None:
        print("frozen figures: no MicroPython source tree (set UPILE_MPY_SRC; see bench/ocpp.py)")
    else:
        ff = layer_heap(prog, ":".join([".frozen", str(ROOT / "tests" / "device"), str(ROOT)]))
        report_layer("app frozen (64-bit)", ff)
        tried, best = smallest_heap(prog, step_kb=32)
        for kb, ok, live, note in tried:
            print("whole firmware (OCPP + OTA idle + 10 ports charging + Wi-Fi, sim chip, app frozen, 64-bit) in "
                  "-X heapsize=%dK: %s" % (kb, "runs, %s live, %s" % (_kb(live), note) if ok else "fails (%s)" % note))
        none, ocpp = idle_firmware(prog, "none"), idle_firmware(prog, "ocpp")
        print("whole firmware idle (10 ports, Wi-Fi, OTA idle, app frozen, 1M heap): %s live without a back end, "
              "%s with OCPP connected (+%s)" % (_kb(none), _kb(ocpp), _kb(ocpp - none)))
    frozen32_figures()
    print("one 1-hour session (a sample every 60 s, the register): %s bytes in %s transaction messages, "
          "statuses included; a heartbeat: %s bytes (WebSocket frame headers counted; TCP/IP not)"
          % (f.get("session_bytes"), f.get("session_messages"), f.get("heartbeat_bytes")))
    first, rate, n = queue_figures()
    print("after a 60 s Wi-Fi outage (2 ports, a value a second each): first queued message at the CSMS %.2f s after "
          "the radio link came back; %d queued messages delivered at %.0f per second" % (first, n, rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
