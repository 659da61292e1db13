"""`upile deploy`: put the app built from this tree on a board's spare slot and try it there.

The same path as an OTA install, minus the download: the running slot is never touched; files
whose sha256 already matches are copied on the board (active -> spare) instead of sent; the
spare gets its index (files.idx, pinned in /ota/state.json by lib/bootstate.set_pending) and
the board resets into a trial boot (a deliberate reset: its intent is recorded first). The
app confirms itself healthy or the boot rolls back after its trial boots, exactly as after
an OTA. deploy watches the console meanwhile without interrupting the trial (a console
interruption does not count against it, but it stops the app until the pile resets).
"""
import binascii
import hashlib
import json
import re
import time
from pathlib import Path

from upile import devcode, factory, paths
from upile.device import Device
from upile.errors import UserError

INDEX = "files.idx"
ENVELOPE = "manifest.dsse.json"
CHUNK = 1536  # raw bytes per exec: 2 KiB of base64, well inside the board's raw-paste window
# The exact lines the firmware prints when a trial settles: the OTA service confirming the
# slot (firmware/ota/service.confirmed_line) and the boot rolling it back (lib/bootchoice.py;
# boards whose /lib predates it print "bootsel:").
CONFIRMED = r"\bOTA Confirmed v=%s slot=%s\r?$"
ROLLED_BACK = r"^boot(?:sel)?: RolledBack slot=%s v=%s .* reason=(.*?)\r?$"

# Device helpers defined once per session: copy with hash check, write base64 chunks, remove.
HELPERS = r"""
import os, hashlib, binascii, bootstate, slotcheck, thisboot, fsatomic
_B = bytearray(512)
def _mk(p):
    i = p.rfind('/')
    if i > 0:
        fsatomic.mkdirs(p[:i])
def _cp(src, dst):
    _mk(dst)
    mv = memoryview(_B)
    with open(src, 'rb') as fi, open(dst, 'wb') as fo:
        while True:
            n = fi.readinto(_B)
            if not n:
                break
            fo.write(mv[:n])
def _open(p):
    global _o
    _mk(p)
    _o = open(p, 'wb')
def _put(b64):
    _o.write(binascii.a2b_base64(b64))
def _close():
    global _o
    _o.close()
    _o = None
def _rm(p):
    try:
        os.remove(p)
    except OSError:
        pass
"""


def add_arguments(p):
    p.add_argument("--port", required=True, help="serial device, socket://host:port, or `sim`")
    p.add_argument("--arch", choices=("x64", "xtensawin"),
                   help="mpy-cross target (default: what the board reports in sys.implementation._mpy)")
    p.add_argument("--src", type=Path, default=paths.ROOT, help="source tree to build (default: this repo)")
    p.add_argument("--wait", type=float, default=60.0,
                   help="seconds to watch the trial boot for confirmation or rollback (0: do not wait)")


def index_of(tree):
    """files.idx text (same format as firmware/ota/slots.write_index) and its pin."""
    lines, off = [], 0
    for rel in sorted(tree):
        data = tree[rel]
        lines.append("%s %d %d %s\n" % (hashlib.sha256(data).hexdigest(), len(data), off, rel))
        off += len(data)
    text = "".join(lines).encode()
    return text, hashlib.sha256(text).hexdigest()


def diff(tree, active, spare):
    """Per file: 'keep' (spare already has it), 'copy' (active has it), 'send' (new bytes)."""
    plan = {}
    for rel, data in tree.items():
        sha = hashlib.sha256(data).hexdigest()
        if (spare.get(rel) or [None, None])[1] == sha:
            plan[rel] = "keep"
        elif (active.get(rel) or [None, None])[1] == sha:
            plan[rel] = "copy"
        else:
            plan[rel] = "send"
    return plan


def send_file(d, path, data):
    d.exec("_open(%r)" % path)
    for i in range(0, len(data), CHUNK):
        d.exec("_put(%r)" % binascii.b2a_base64(data[i:i + CHUNK], newline=False).decode())
    d.exec("_close()")


def read_boot_state(d):
    st = d.json("import thisboot, json\nprint(json.dumps(thisboot.read_state()))")
    if not isinstance(st, dict):
        raise UserError("the board has no boot state (/ota/state.json): give it a factory image "
                        "(`upile fsimage`, `upile flash --fs`) first")
    return st


def stage(d, tree, version):
    """Copy the app into the spare slot and mark it pending; returns (spare, report, max trials)."""
    index, pin = index_of(tree)
    st = read_boot_state(d)
    if st.get("pending"):
        raise UserError("slot %s is on trial already: wait until it is confirmed or rolled back "
                        "(`upile status`)" % st["pending"])
    active = st["active"]
    spare = "b" if active == "a" else "a"
    base_a, base_s = "/slots/" + active, "/slots/" + spare
    dirs = [base_a, base_s]
    hashes = devcode.parse_tree_hashes(d.exec(devcode.TREE_HASHES % {"dirs": dirs}, timeout=120), dirs)
    have_a, have_s = hashes.get(base_a, {}), hashes.get(base_s, {})
    plan = diff(tree, have_a, have_s)
    d.exec(HELPERS)
    report = []
    for rel in sorted(tree):
        how = plan[rel]
        if how == "copy":
            d.exec("_cp(%r, %r)" % (base_a + "/" + rel, base_s + "/" + rel), timeout=60)
        elif how == "send":
            send_file(d, base_s + "/" + rel, tree[rel])
        if (have_a.get(rel) or [None, None])[1] != hashlib.sha256(tree[rel]).hexdigest():
            report.append("%s %s (%d bytes%s)" % ("changed" if rel in have_a else "new", rel, len(tree[rel]),
                                                  ", already in slot " + spare if how == "keep" else ""))
    for rel in sorted(set(have_a) - set(tree) - {INDEX, ENVELOPE}):
        report.append("removed %s" % rel)
    for rel in sorted(set(have_s) - set(tree) - {INDEX}):
        d.exec("_rm(%r)" % (base_s + "/" + rel))  # stale files (and an old slot's envelope)
    send_file(d, base_s + "/" + INDEX, index)
    err = d.json("import json\nprint(json.dumps(slotcheck.verify_slot(%r, %r)))" % (spare, pin), timeout=120)
    if err is not None:
        raise UserError("slot %s does not check out after copying (%s): nothing switched" % (spare, err))
    # no "counter": a bench build is no release; the boot state then keeps the installed
    # counter on confirm and records no counter as rolled back (which would block a release)
    meta = {"pin": pin, "version": version, "env": None}
    d.exec("bootstate.set_pending(%r, %r)" % (spare, meta))
    sent = sum(1 for v in plan.values() if v == "send")
    report.append("%d of %d files sent; the rest were already on the board (copied from slot %s or kept)"
                  % (sent, len(plan), active))
    return spare, report, st.get("max_trials", 3)


def settled(text, slot, version):
    """('confirmed', None), ('rolled back', reason) or None, from the console output since the
    reset: only the firmware's own lines for this slot and version count."""
    m = re.search(ROLLED_BACK % (slot, re.escape(version)), text, re.M)
    if m:
        return "rolled back", m.group(1)
    if re.search(CONFIRMED % (re.escape(version), slot), text, re.M):
        return "confirmed", None
    return None


def watch(port, t, wait, slot, version):
    """Watch the console (no Ctrl-C: that would stop the app on trial) until the trial is settled or
    `wait` seconds pass; echo what the board prints. Returns settled()'s answer. `t` is the
    open transport (kept across the reset so no early line is lost); reopened if it drops."""
    from mpremote.transport_serial import SerialTransport
    from upile.ports import device_url

    deadline = time.monotonic() + wait
    seen = b""
    shown = 0
    verdict = None
    while verdict is None and time.monotonic() < deadline:
        try:
            if t is None:
                t = SerialTransport(device_url(port), baudrate=115200)
            n = t.serial.in_waiting
            chunk = t.serial.read(n) if n else b""
        except Exception:  # noqa: BLE001  the board is resetting: serial or socket comes and goes
            t = None
            time.sleep(0.2)
            continue
        if not chunk:
            time.sleep(0.05)
            continue
        seen += chunk
        end = seen.rfind(b"\n") + 1
        if end > shown:
            for line in seen[shown:end].decode("utf-8", "replace").splitlines():
                print("  | " + line.rstrip("\r"), flush=True)
            shown = end
        verdict = settled(seen[:end].decode("utf-8", "replace"), slot, version)  # whole lines only
    if t is not None:
        t.close()
    if verdict and verdict[0] == "rolled back":
        time.sleep(1.0)  # let the previous app finish booting before the state is read
    return verdict


def outcome(port):
    """The boot state once the trial is settled (interrupting the app is harmless then)."""
    with Device(port) as d:
        return read_boot_state(d)


# native-code architecture in bits 10+ of sys.implementation._mpy (py/persistentcode.h)
MPY_ARCHES = {2: "x64", 10: "xtensawin"}


def board_arch(d):
    code = d.json("import sys\nprint(sys.implementation._mpy >> 10)")
    if code not in MPY_ARCHES:
        raise UserError("the board's native architecture (mpy arch %r) is not one uPile builds for" % code)
    return MPY_ARCHES[code]


def run(args):
    from mpremote.transport import TransportError

    src = args.src.resolve()
    if not (src / "firmware").is_dir():
        raise UserError("%s has no firmware/ folder: not a uPile source tree" % src)
    version = factory.app_version(src) + "+bench"
    # soft reset into the raw REPL: boot.py runs (slot on sys.path), main.py does not, so the
    # copy works in a clean heap instead of beside the interrupted app's objects
    d = Device(args.port, soft_reset=True)
    try:
        tree = factory.app_tree(args.arch or board_arch(d), root=src)
        spare, report, _ = stage(d, tree, version)
        for line in report:
            print(line)
        print("slot %s is pending: the board resets into a trial boot" % spare)
        # reset into the trial with the plain raw-REPL protocol (code, Ctrl-D) and no wait for
        # an answer: the board is gone at once, and every line of its trial boot is watched.
        # The intent first: a reset by a tool is deliberate (firmware/board/system.reset)
        d.t.serial.write(b"import machine, bootstate\r\nbootstate.intend_reset('upile deploy')\r\n"
                         b"machine.reset()\r\n\x04")
        d._raw = False
        verdict = watch(args.port, d.t, args.wait, spare, version) if args.wait > 0 else "not watched"
    except TransportError as e:
        raise UserError("lost %s during the deploy: %s" % (args.port, str(e).splitlines()[0][:200]))
    finally:
        d.close(restart=False)
    if verdict == "not watched":
        return 0
    if verdict is None:
        raise UserError("slot %s: neither confirmed nor rolled back within %d s; it stays on trial "
                        "(the app confirms itself when healthy; `upile status` does not count against it)"
                        % (spare, args.wait))
    st = outcome(args.port)
    if verdict[0] == "confirmed" and st.get("active") == spare and not st.get("pending"):
        print("slot %s confirmed healthy by the app: %s is running" % (spare, version))
        return 0
    if verdict[0] == "rolled back" and st.get("active") != spare and not st.get("pending"):
        raise UserError("the app in slot %s failed its trial and the board rolled back to slot %s: %s"
                        % (spare, st.get("active"), verdict[1]))
    raise UserError("slot %s: the console said %s but the boot state is %s" % (spare, verdict[0], json.dumps(st)))
