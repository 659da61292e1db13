"""Every manifest rejection, and a fuzz of the envelope and manifest parsers, run inside
micropython (firmware/ota/manifest.py + lib/dsse.py) on envelopes signed on the host."""
import base64
import copy
import json
import random
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.append(str(ROOT / "lib"))  # last: lib/http.py must not shadow the stdlib
from mpy import run_mpy  # noqa: E402
import dsse  # noqa: E402  (PAE is the same code on both sides)

PTYPE = "application/vnd.upile.manifest+json"
NOW = 1800000000
PRODUCT = "upile-ebike-10"
REASONS = {"bad_envelope", "bad_signature", "wrong_product", "downgrade", "expired", "clock_unset", "bad_field",
           "too_large", "unsafe_path", "duplicate_path", "bad_offset", "bad_sha256", "bad_kind"}

DEVICE = r"""
import sys, json, binascii, gc
from firmware.ota import manifest
with open(sys.argv[1]) as f:
    for line in f:
        c = json.loads(line)
        line = None
        gc.collect()
        ring = {}
        for k, v in c["ring"].items():
            ring[k] = binascii.unhexlify(v)
        env = c["env"].encode() if isinstance(c["env"], str) else binascii.unhexlify(c["env"]["hex"])
        if "pad" in c:
            env += b" " * c["pad"]
        c["env"] = None
        try:
            p = manifest.check(env, ring, product=c.get("product", "upile-ebike-10"),
                               installed_counter=c.get("installed", 5), now=c.get("now", 1800000000),
                               limits=c.get("limits"))
            print("OK", ",".join(p["_warnings"]))
        except manifest.ManifestError as e:
            if not isinstance(e.reason, str) or not isinstance(e.detail, str):
                print("BADREASON")
            else:
                print(e.reason)
        except MemoryError:
            print("MEMORYERROR")
        except Exception as e:
            print("ESCAPED", type(e).__name__, repr(e)[:80])
"""


def _raw(k):
    return k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


KEY = ed25519.Ed25519PrivateKey.generate()
KEY2 = ed25519.Ed25519PrivateKey.generate()
OTHER = ed25519.Ed25519PrivateKey.generate()
RING = {dsse.keyid(_raw(KEY)): _raw(KEY).hex()}
RING2 = dict(RING, **{dsse.keyid(_raw(KEY2)): _raw(KEY2).hex()})
H = "ab" * 32


def app_payload():
    return {"product": PRODUCT, "version": "1.2.0", "counter": 6, "created": NOW - 100, "expires": NOW + 86400,
            "kind": "app",
            "files": [{"path": "firmware/app.mpy", "size": 100, "sha256": H, "offset": 0},
                      {"path": "lib/journal.mpy", "size": 50, "sha256": H, "offset": 100}],
            "bundle": {"size": 150, "sha256": H}}


def image_payload():
    return {"product": PRODUCT, "version": "1.29.0", "counter": 6, "created": NOW - 100, "expires": NOW + 86400,
            "kind": "image", "image": {"size": 1500000, "sha256": H}}


def envelope(payload, keys=(KEY,), ptype=PTYPE, body=None):
    body = body if body is not None else json.dumps(payload).encode()
    sigs = [{"keyid": dsse.keyid(_raw(k)), "sig": base64.b64encode(k.sign(dsse.pae(ptype, body))).decode()}
            for k in keys]
    return json.dumps({"payloadType": ptype, "payload": base64.b64encode(body).decode(), "signatures": sigs})


def with_(fn, base=app_payload):
    p = base()
    fn(p)
    return envelope(p)


def _set(path, value):
    def f(p):
        d = p
        for k in path[:-1]:
            d = d[k]
        if value is KeyError:
            del d[path[-1]]
        else:
            d[path[-1]] = value
    return f


def run_cases(tmp_path, cases):
    f = tmp_path / "cases.jsonl"
    with open(f, "w") as out:
        for c in cases:
            c = dict(c)
            c.setdefault("ring", RING)
            if isinstance(c["env"], bytes):
                c["env"] = {"hex": c["env"].hex()}
            out.write(json.dumps(c) + "\n")
    script = tmp_path / "dev.py"
    script.write_text(DEVICE)
    p = run_mpy(script, f, timeout=300, check=True)
    return p.stdout.splitlines()


def file_(**kw):
    d = {"path": "lib/x.mpy", "size": 10, "sha256": H, "offset": 150}
    d.update(kw)

    def f(p):
        p["files"].append(d)
        p["bundle"]["size"] = 1000
    return f


CASES = [
    ("valid app", dict(env=envelope(app_payload())), "OK "),
    ("valid image", dict(env=envelope(image_payload())), "OK "),
    ("two keys, threshold 2", dict(env=envelope(app_payload(), (KEY, KEY2)), ring=RING2, limits={"threshold": 2}), "OK "),
    ("clock unset: accepted, flagged", dict(env=envelope(app_payload()), now=None), "OK clock_unset"),
    ("clock at 2000 epoch start", dict(env=envelope(app_payload()), now=86400), "OK clock_unset"),
    ("clock unset, policy reject", dict(env=envelope(app_payload()), now=None, limits={"unset_clock": "reject"}), "clock_unset"),
    ("not JSON", dict(env="{not json"), "bad_envelope"),
    ("JSON list", dict(env="[]"), "bad_envelope"),
    ("no payloadType", dict(env=json.dumps({"payload": "e30=", "signatures": [{"keyid": "x", "sig": "AA=="}]})), "bad_envelope"),
    ("other payloadType", dict(env=envelope(app_payload(), ptype="text/plain")), "bad_envelope"),
    ("payload not base64", dict(env=json.dumps({"payloadType": PTYPE, "payload": "e30", "signatures": [{"keyid": "x", "sig": "AA=="}]})), "bad_envelope"),
    ("payload with junk in base64", dict(env=json.dumps({"payloadType": PTYPE, "payload": "e3!0", "signatures": [{"keyid": "x", "sig": "AA=="}]})), "bad_envelope"),
    ("payload base64 with a stray newline", dict(env=json.dumps({"payloadType": PTYPE, "payload": "e3\n0=", "signatures": [{"keyid": "x", "sig": "AA=="}]})), "bad_envelope"),
    ("payload base64 with non-zero padding bits", dict(env=json.dumps({"payloadType": PTYPE, "payload": "e31=", "signatures": [{"keyid": "x", "sig": "AA=="}]})), "bad_envelope"),
    ("payload key twice", dict(env='{"payloadType": "%s", "payload": "e30=", "payload": "W10=", "signatures": [{"keyid": "x", "sig": "AA=="}]}' % PTYPE), "bad_envelope"),
    ("payload a number", dict(env='{"payloadType": "%s", "payload": 5, "signatures": [{"keyid": "x", "sig": "AA=="}]}' % PTYPE), "bad_envelope"),
    ("payload with a JSON escape", dict(env='{"payloadType": "%s", "payload": "e30\\u003d", "signatures": [{"keyid": "x", "sig": "AA=="}]}' % PTYPE), "bad_envelope"),
    ("payload string not closed", dict(env='{"payloadType": "%s", "payload": "e30=' % PTYPE), "bad_envelope"),
    ("no signatures", dict(env=json.dumps({"payloadType": PTYPE, "payload": "e30=", "signatures": []})), "bad_envelope"),
    ("signature without keyid", dict(env=json.dumps({"payloadType": PTYPE, "payload": "e30=", "signatures": [{"sig": "AA=="}]})), "bad_envelope"),
    ("envelope too large", dict(env=envelope(app_payload()), pad=21000), "too_large"),
    ("envelope above a configured limit", dict(env=envelope(app_payload()), limits={"max_envelope": 500}), "too_large"),
    ("untrusted key", dict(env=envelope(app_payload(), (OTHER,))), "bad_signature"),
    ("trusted keyid, wrong signer", dict(env=envelope(app_payload()).replace(dsse.keyid(_raw(KEY)), "0000"), ring={"0000": _raw(OTHER).hex()}), "bad_signature"),
    ("one signature, threshold 2", dict(env=envelope(app_payload()), ring=RING2, limits={"threshold": 2}), "bad_signature"),
    ("same key twice, threshold 2", dict(env=envelope(app_payload(), (KEY, KEY)), ring=RING2, limits={"threshold": 2}), "bad_signature"),
    ("payload changed after signing", dict(env=envelope(None, body=b"{}").replace(base64.b64encode(b"{}").decode(), base64.b64encode(b"[]").decode())), "bad_signature"),
    ("wrong product", dict(env=envelope(app_payload()), product="other-pile"), "wrong_product"),
    ("replay: same counter", dict(env=envelope(app_payload()), installed=6), "downgrade"),
    ("downgrade: lower counter", dict(env=envelope(app_payload()), installed=9), "downgrade"),
    ("expired", dict(env=envelope(app_payload()), now=NOW + 86400), "expired"),
    ("payload not JSON", dict(env=envelope(None, body=b"\xff\xfe")), "bad_field"),
    ("payload a list", dict(env=envelope(None, body=b"[1]")), "bad_field"),
    ("version missing", dict(env=with_(_set(["version"], KeyError))), "bad_field"),
    ("version not text", dict(env=with_(_set(["version"], 12))), "bad_field"),
    ("counter text", dict(env=with_(_set(["counter"], "7"))), "bad_field"),
    ("counter bool", dict(env=with_(_set(["counter"], True))), "bad_field"),
    ("counter negative", dict(env=with_(_set(["counter"], -1))), "bad_field"),
    ("counter float", dict(env=with_(_set(["counter"], 7.0))), "bad_field"),
    ("expires before created", dict(env=with_(_set(["expires"], NOW - 200))), "bad_field"),
    ("created missing", dict(env=with_(_set(["created"], KeyError))), "bad_field"),
    ("product missing", dict(env=with_(_set(["product"], KeyError))), "bad_field"),
    ("files not a list", dict(env=with_(_set(["files"], {}))), "bad_field"),
    ("bundle missing", dict(env=with_(_set(["bundle"], KeyError))), "bad_field"),
    ("file entry not an object", dict(env=with_(_set(["files", 0], "firmware/app.mpy"))), "bad_field"),
    ("file size missing", dict(env=with_(_set(["files", 0, "size"], KeyError))), "bad_field"),
    ("offset text", dict(env=with_(_set(["files", 0, "offset"], "0"))), "bad_field"),
    ("image missing", dict(env=with_(_set(["image"], KeyError), image_payload)), "bad_field"),
    ("file above max size", dict(env=with_(file_(size=600000))), "too_large"),
    ("bundle above max", dict(env=with_(_set(["bundle", "size"], 2**21))), "too_large"),
    ("too many files", dict(env=envelope(app_payload()), limits={"max_files": 1}), "too_large"),
    ("image above a slot", dict(env=with_(_set(["image", "size"], 0x180001), image_payload)), "too_large"),
    ("absolute path", dict(env=with_(file_(path="/lib/x.mpy"))), "unsafe_path"),
    ("dot-dot", dict(env=with_(file_(path="lib/../../boot.py"))), "unsafe_path"),
    ("dot segment", dict(env=with_(file_(path="lib/./x.mpy"))), "unsafe_path"),
    ("empty path", dict(env=with_(file_(path=""))), "unsafe_path"),
    ("empty segment", dict(env=with_(file_(path="lib//x.mpy"))), "unsafe_path"),
    ("outside the slot trees", dict(env=with_(file_(path="boot.py"))), "unsafe_path"),
    ("backslash", dict(env=with_(file_(path="lib\\..\\x"))), "unsafe_path"),
    ("NUL in path", dict(env=with_(file_(path="lib/x\u0000.mpy"))), "unsafe_path"),
    ("path not text", dict(env=with_(file_(path=5))), "unsafe_path"),
    ("path too long", dict(env=with_(file_(path="lib/" + "a" * 100))), "unsafe_path"),
    ("duplicate path", dict(env=with_(file_(path="lib/journal.mpy"))), "duplicate_path"),
    ("overlapping files", dict(env=with_(file_(offset=120))), "bad_offset"),
    ("file past the bundle end", dict(env=with_(file_(offset=995))), "bad_offset"),
    ("negative offset", dict(env=with_(file_(offset=-5))), "bad_offset"),
    ("sha256 upper case", dict(env=with_(file_(sha256="AB" * 32))), "bad_sha256"),
    ("sha256 short", dict(env=with_(file_(sha256="ab" * 31))), "bad_sha256"),
    ("sha256 not hex", dict(env=with_(file_(sha256="zz" * 32))), "bad_sha256"),
    ("bundle sha256 missing", dict(env=with_(_set(["bundle", "sha256"], KeyError))), "bad_sha256"),
    ("image sha256 number", dict(env=with_(_set(["image", "sha256"], 5), image_payload)), "bad_sha256"),
    ("kind unknown", dict(env=with_(_set(["kind"], "delta"))), "bad_kind"),
    ("kind missing", dict(env=with_(_set(["kind"], KeyError))), "bad_kind"),
]


def test_every_rejection_has_its_reason_code_on_the_device(tmp_path):
    got = run_cases(tmp_path, [c for _, c, _ in CASES])
    assert len(got) == len(CASES), got
    wrong = [(name, want, g) for (name, _, want), g in zip(CASES, got) if g.strip() != want.strip()]
    assert not wrong, wrong
    assert {w for _, _, w in CASES if not w.startswith("OK")} == REASONS


def _mutate_payload(rnd, p):
    """A structurally plausible but hostile payload."""
    values = [None, True, -1, 0, 2**31, 2**64, 1.5, "", "x" * 300, "../etc", "/abs", [], {}, [1, [2, [3]]],
              {"a": {}}, "firmware/app.mpy", H, "AB" * 32, PRODUCT, "app", "image"]
    for _ in range(rnd.randrange(1, 4)):
        target = p
        path = []
        while isinstance(target, (dict, list)) and target and rnd.random() < 0.6:
            k = rnd.choice(list(target)) if isinstance(target, dict) else rnd.randrange(len(target))
            path.append(k)
            target = target[k]
        if not path:
            p[rnd.choice(["kind", "files", "bundle", "image", "counter", "zzz"])] = rnd.choice(values)
            continue
        parent = p
        for k in path[:-1]:
            parent = parent[k]
        op = rnd.randrange(3)
        if op == 0 and isinstance(parent, dict):
            del parent[path[-1]]
        elif op == 1 and isinstance(parent, list):
            parent.append(copy.deepcopy(rnd.choice(parent)))
        else:
            parent[path[-1]] = rnd.choice(values)
    return p


def _mutate_bytes(rnd, b):
    b = bytearray(b)
    for _ in range(rnd.randrange(1, 6)):
        op = rnd.randrange(4)
        i = rnd.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(i, len(b) - 1)] = rnd.randrange(256)
        elif op == 1:
            b[i:i] = rnd.randbytes(rnd.randrange(1, 8))
        elif op == 2:
            del b[i:i + rnd.randrange(1, 40)]
        else:
            b[i:i] = rnd.choice([b"[" * 50, b"{\"a\":" * 30, b"\"", b"\\u0000", b"9" * 40, b"\xff\xfe"])
    return bytes(b)


def test_fuzzed_envelopes_and_payloads_never_escape(tmp_path):
    rnd = random.Random(1234)
    cases = []
    for i in range(500):  # signed, so they reach the payload checks
        base = app_payload() if i % 3 else image_payload()
        if i % 5 == 0:
            base["files"] = [{"path": "lib/m%d.mpy" % j, "size": 10, "sha256": H, "offset": 10 * j} for j in range(40)]
            base["bundle"] = {"size": 400, "sha256": H}
            base["kind"] = "app"
        p = _mutate_payload(rnd, base)
        body = json.dumps(p).encode()
        if i % 10 == 0:
            body = _mutate_bytes(rnd, body)
        cases.append({"env": envelope(None, body=body)})
    good = [envelope(app_payload()).encode(), envelope(image_payload()).encode()]
    for i in range(2000):  # raw envelope bytes, mostly unsigned garbage
        if i % 10 == 0:
            env = rnd.randbytes(rnd.randrange(0, 300))
        else:
            env = _mutate_bytes(rnd, rnd.choice(good))
        cases.append({"env": env})
    got = run_cases(tmp_path, cases)
    assert len(got) == len(cases)
    for c, g in zip(cases, got):
        word = g.split()[0]
        assert word == "OK" or word in REASONS, (g, c)
    assert sum(1 for g in got if g.startswith("OK")) < len(got) // 4
    assert len({g.split()[0] for g in got}) >= 8  # the fuzz reached many different checks
