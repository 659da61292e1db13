"""lib/websocket.py under micropython against the `websockets` package's server on loopback
(tests/host/wspeer.py): subprotocol negotiated, refused, missing or another; unknown charge
point id (404); HTTP Basic; big messages both ways; pings both ways; close codes both
directions; a message over max_size (1009); wss:// verified against a test CA, a wrong host
name refused, and a client certificate the server demands (OCPP security profile 3)."""
import ssl
import warnings

import pytest

from mpy import run_mpy
from wspeer import WsServer, pki

SCRIPT = r'''
import asyncio, sys, websocket
base, names = sys.argv[1], sys.argv[2].split(",")
opts = {}
if len(sys.argv) > 3:
    d = sys.argv[3]
    opts["cadata"] = open(d + "/ca.pem", "rb").read()  # PEM: netconn converts it
    cert = (open(d + "/client.der", "rb").read(), open(d + "/client.key.der", "rb").read())
    wrong_ca = open(d + "/cpca.der", "rb").read()

def url(path, id="CP1"):
    return base + path + "/" + websocket.quote(id)

async def echo(u, msgs=("hello",), **kw):
    ws = await websocket.connect(u, **dict(opts, **kw))
    out = [ws.protocol]
    for m in msgs:
        await ws.send(m)
        r = await ws.recv()
        out.append(r == m and type(r).__name__)
    await ws.close()
    return out

async def first(u, **kw):
    ws = await websocket.connect(u, **dict(opts, **kw))
    try:
        return await ws.recv()
    finally:
        await ws.close()

async def client_ping(u):
    ws = await websocket.connect(u, **opts)
    reader = asyncio.create_task(ws.recv())
    got = [await ws.ping(timeout=10), await ws.ping(timeout=10)]
    await ws.close(4003, "cp says bye")
    try:
        await reader
    except websocket.ConnectionClosed as e:
        got.append(e.code)
    return got

async def client_close(u):
    ws = await websocket.connect(u, **opts)
    await ws.close(4003, "cp says bye")
    return (ws.closed, ws.code)

async def value(v):
    return v

def big(n):
    return "".join(chr(32 + (i * 7) % 90) for i in range(n))

SCENARIOS = {
    "negotiated": lambda: echo(url("/echo", "CP 1/\u00e4")),
    "prefers": lambda: echo(url("/echo"), protocols=("ocpp2.0.1", "ocpp1.6")),
    "refused": lambda: echo(url("/echo"), protocols=("ocpp2.0.1",)),
    "none_offered": lambda: echo(url("/echo"), protocols=()),
    "unknown_id": lambda: echo(url("/echo", "XX1")),
    "big": lambda: echo(url("/echo"), (big(200000), bytes(150000), big(65536)), max_size=300000, bufsize=4096),
    "server_ping": lambda: first(url("/ping")),
    "client_ping": lambda: client_ping(url("/echo")),
    "server_close": lambda: first(url("/close/4002")),
    "going_away": lambda: first(url("/close/1001")),
    "client_close": lambda: client_close(url("/echo", "CP-close")),
    "too_big": lambda: first(url("/send/5000"), max_size=4096),
    "auth_ok": lambda: echo(url("/echo", "CP1"), auth=("CP1", b"\x01\xff:key")),
    "auth_bad": lambda: echo(url("/echo", "CP1"), auth=("CP1", b"wrong")),
    "no_auth": lambda: echo(url("/echo", "CP1")),
    "tls_ok": lambda: echo(url("/echo")),
    "tls_wrong_host": lambda: echo(url("/echo").replace("localhost", "127.0.0.1")),
    "tls_wrong_ca": lambda: echo(url("/echo"), cadata=wrong_ca),
    "mtls_cert": lambda: echo(url("/echo"), cert=cert[0], key=cert[1]),
    "mtls_no_cert": lambda: echo(url("/echo")),
    "no_server": lambda: echo("ws://127.0.0.1:1/CP1"),  # port 1: nothing listens
    "bad_url": lambda: echo("http://127.0.0.1/CP1"),
    "space_in_id": lambda: echo(base + "/echo/CP 1"),
    "wss_without_ca": lambda: echo("wss://localhost:1/CP1"),
    "quote": lambda: value([websocket.quote(s) for s in ("CP-01_a.b~", "CP 1/\u00e4?#%+")]),
}

async def main():
    for name in names:
        try:
            print(name, "OK", await SCENARIOS[name]())
        except websocket.WSError as e:
            print(name, "WSError", e.reason, e.status, e.detail)
        except websocket.ConnectionClosed as e:
            print(name, "Closed", e.code, e.reason)
    print("DONE")
asyncio.run(main())
'''


def _run(base, names, *extra, heap="256K"):
    p = run_mpy("-c " + SCRIPT, base, ",".join(names), *extra, heap=heap, timeout=120)
    assert p.returncode == 0 and p.stdout.rstrip().endswith("DONE"), p.stdout + p.stderr
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in p.stdout.splitlines() if " " in line}


def test_subprotocol_id_pings_and_close_codes_against_websockets():
    with WsServer(subprotocols=["ocpp1.6"], max_size=2**22) as s:
        base = "ws://127.0.0.1:%d" % s.port
        out = _run(base, ["negotiated", "prefers", "refused", "none_offered", "unknown_id", "server_ping",
                          "client_ping", "server_close", "going_away", "client_close", "too_big", "no_server",
                          "bad_url", "space_in_id", "wss_without_ca", "quote"])
        assert out["negotiated"] == "OK ['ocpp1.6', 'str']"
        assert s.seen("/echo/CP%201%2F%C3%A4", "open") == ["ocpp1.6"]  # the id percent-encoded
        assert out["prefers"] == "OK ['ocpp1.6', 'str']"
        # websockets answers an offer it cannot serve with HTTP 400, a CSMS that knows the
        # charge point not with 404: both are refusals with their status
        assert out["refused"].startswith("WSError status 400"), out["refused"]
        assert out["none_offered"].startswith("WSError status 400"), out["none_offered"]
        assert out["unknown_id"].startswith("WSError status 404 HTTP 404"), out["unknown_id"]
        assert out["server_ping"] == "OK pong came"
        assert out["client_ping"] == "OK [True, True, 4003]"
        assert out["server_close"] == "Closed 4002 server says bye"
        assert out["going_away"] == "Closed 1001 server says bye"
        assert out["client_close"] == "OK (True, 4003)"
        assert s.wait("/echo/CP-close", "closed") == (4003, "cp says bye")
        assert out["too_big"] == "Closed 1009 message of 5000+ bytes, max 4096"
        assert s.wait("/send/5000/CP1", "closed")[0] == 1009  # the server got our 1009
        assert out["no_server"].startswith("WSError connect 0 handshake: OSError 111"), out["no_server"]
        assert out["bad_url"].startswith("WSError bad_url"), out["bad_url"]
        assert out["space_in_id"].startswith("WSError bad_url"), out["space_in_id"]
        assert out["wss_without_ca"] == "WSError tls 0 wss:// needs a CA certificate (none configured)"
        assert out["quote"] == "OK ['CP-01_a.b~', 'CP%201%2F%C3%A4%3F%23%25%2B']"


def test_big_messages_both_ways():
    with WsServer(subprotocols=["ocpp1.6"], max_size=2**22) as s:
        out = _run("ws://127.0.0.1:%d" % s.port, ["big"], heap="4M")
        assert out["big"] == "OK ['ocpp1.6', 'str', 'bytes', 'str']"
        assert s.seen("/echo/CP1", "message") == [200000, 150000, 65536]


def test_server_that_selects_no_or_another_subprotocol_is_refused():
    with WsServer() as none, WsServer(select_subprotocol=lambda conn, offered: "ocpp2.0.1") as other:
        a = _run("ws://127.0.0.1:%d" % none.port, ["negotiated"])
        b = _run("ws://127.0.0.1:%d" % other.port, ["negotiated"])
    assert a["negotiated"].startswith("WSError subprotocol 0 server selected none, offered ocpp1.6"), a
    assert b["negotiated"].startswith("WSError subprotocol 0 server selected 'ocpp2.0.1'"), b


def test_http_basic_auth_with_binary_password():
    with WsServer(auth=("CP1", b"\x01\xff:key"), subprotocols=["ocpp1.6"]) as s:
        out = _run("ws://127.0.0.1:%d" % s.port, ["auth_ok", "auth_bad", "no_auth"])
    assert out["auth_ok"] == "OK ['ocpp1.6', 'str']"
    assert out["auth_bad"].startswith("WSError status 401"), out
    assert out["no_auth"].startswith("WSError status 401"), out


def _tls(d, client_ca=False, tls11=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "server.pem", d / "server.key.pem")
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(d / "cpca.pem")
    if tls11:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def test_wss_verified_against_the_ca_and_host_name(tmp_path):
    pki(tmp_path)
    with WsServer(subprotocols=["ocpp1.6"], ssl=_tls(tmp_path)) as s:
        out = _run("wss://localhost:%d" % s.port, ["tls_ok", "tls_wrong_host", "tls_wrong_ca"], tmp_path)
    assert out["tls_ok"] == "OK ['ocpp1.6', 'str']"
    assert out["tls_wrong_host"].startswith("WSError tls"), out
    assert out["tls_wrong_ca"].startswith("WSError tls"), out


def test_wss_client_certificate_for_security_profile_3(tmp_path):
    pki(tmp_path)
    with WsServer(subprotocols=["ocpp1.6"], ssl=_tls(tmp_path, client_ca=True)) as s:
        out = _run("wss://localhost:%d" % s.port, ["mtls_cert", "mtls_no_cert"], tmp_path)
        assert out["mtls_cert"] == "OK ['ocpp1.6', 'str']"
        # TLS 1.3: the server refuses the missing certificate after the client's finished
        # message, so the failure shows at the first read of the handshake response
        assert out["mtls_no_cert"].split()[:2] in (["WSError", "tls"], ["WSError", "io"]), out
        assert s.seen("/echo/CP1", "open") == ["ocpp1.6"]  # once: the client with its cert


def test_wss_refuses_a_server_offering_only_tls_1_1(tmp_path):
    pki(tmp_path)
    try:
        ctx = _tls(tmp_path, tls11=True)
    except ssl.SSLError as e:  # an OpenSSL without TLS 1.1 cannot make this server
        pytest.fail("cannot make a TLS 1.1 server here: %s" % e)
    with WsServer(subprotocols=["ocpp1.6"], ssl=ctx) as s:
        out = _run("wss://localhost:%d" % s.port, ["tls_ok"], tmp_path)
    assert out["tls_ok"].startswith("WSError tls"), out
