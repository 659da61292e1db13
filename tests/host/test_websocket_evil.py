"""lib/websocket.py under micropython against a server on a bare socket that breaks RFC 6455
on purpose (wspeer.RawServer): each bad frame ends in its close code, which the server
receives too; a connection dropped inside a frame ends in 1006; bad handshakes end in
WSError with a reason; random garbage never crashes the client; and the client's heap is
the same after every case (measured in the process, in a 128K heap)."""
import random

from mpy import run_mpy
from wspeer import RawServer, server_frame as f

SCRIPT = r'''
import asyncio, gc, sys, websocket
base, names = sys.argv[1], open(sys.argv[2]).read().split()

async def run(name):
    ws = await websocket.connect("%s/%s/CP1" % (base, name), timeout=2)
    got = []
    try:
        while True:
            m = await ws.recv()
            got.append(m if len(m) < 20 else len(m))
    except websocket.ConnectionClosed as e:
        return "Closed %d %s | %r" % (e.code, e.reason, got)

async def main():
    lo = hi = None
    for i, name in enumerate(names):
        try:
            r = await run(name)
        except websocket.WSError as e:
            r = "WSError %s %d %s" % (e.reason, e.status, e.detail)
        print(name, r)
        r = None
        gc.collect()
        if i:  # the first case loads asyncio's wait_for, Lock and Event
            n = gc.mem_alloc()
            lo, hi = min(lo or n, n), max(hi or n, n)
    print("HEAP", lo, hi)
    print("DONE")
asyncio.run(main())
'''

GOOD = f(1, b"hi")
# name: (body after a proper 101, drop, close code the client ends with, reason contains)
FRAMES = {
    "good": (GOOD + f(8, b"\x03\xe8"), False, 1000, ""),
    "rsv1": (GOOD + f(1, b"x", rsv=0x40), False, 1002, "RSV"),
    "opcode3": (GOOD + f(3, b"x"), False, 1002, "unknown opcode 3"),
    "opcode11": (GOOD + f(11, b""), False, 1002, "unknown control opcode 11"),
    "masked": (GOOD + f(1, b"hello", mask=b"abcd"), False, 1002, "masked frame"),
    "ping126": (GOOD + f(9, b"p" * 126), False, 1002, "126 bytes"),
    "ping_fragmented": (GOOD + f(9, b"p", fin=False), False, 1002, "fragmented"),
    "continuation_first": (GOOD + f(0, b"x"), False, 1002, "continuation"),
    "text_in_fragments": (GOOD + f(1, b"a", fin=False) + f(1, b"b"), False, 1002, "inside a fragmented"),
    "bad_utf8": (GOOD + f(1, b"caf\xc3"), False, 1007, "not UTF-8"),
    "surrogate_in_fragment": (GOOD + f(1, b"ok", fin=False) + f(9, b"") + f(0, b"\xed\xa0\x80"), False, 1007, "UTF-8"),
    "close_1005": (GOOD + f(8, b"\x03\xed"), False, 1002, "1005"),
    "close_1byte": (GOOD + f(8, b"\x03"), False, 1002, "1-byte"),
    "close_bad_reason": (GOOD + f(8, b"\x03\xe8\xff"), False, 1007, "reason"),
    "announces_2_62": (GOOD + f(2, b"", length=1 << 62), False, 1009, "max 16384"),
    "oversized_sent": (GOOD + f(1, b"z" * 40000), False, 1009, "40000+ bytes, max 16384"),
    "fragments_oversized": (GOOD + f(1, b"z" * 9000, fin=False) + f(0, b"z" * 9000), False, 1009, "18000+ bytes"),
    "cut_in_payload": (GOOD + f(1, b"x" * 1000)[:500], True, 1006, "inside a frame"),
    "cut_in_header": (GOOD + b"\x81\x7e\x03", True, 1006, "inside a frame"),
    "cut_between": (GOOD, True, 1006, "without a close frame"),
    "stalls_in_payload": (GOOD + f(1, b"x" * 1000)[:500], False, 1006, "nothing for 2 s"),
}
# name: (HTTP response head, or None for a 101 made by _head(), body, drop, expected line start)
HANDSHAKES = {
    "h_redirect": (b"HTTP/1.1 302 Found\r\nLocation: ws://elsewhere.example/ocpp/CP1\r\nContent-Length: 0\r\n\r\n",
                   b"", False, "WSError status 302 HTTP 302 to ws://elsewhere.example/ocpp/CP1, not followed"),
    "h_503": (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 60\r\n\r\n", b"", False,
              "WSError status 503 HTTP 503 Service Unavailable"),
    "h_503_long": (b"HTTP/1.1 503 Busy\r\n" + b"X-Pad: " + b"p" * 3000 + b"\r\n\r\n", b"", False, "WSError status 503"),
    "h_bad_accept": (b"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n",
                     b"", False, "WSError bad_handshake 0 Sec-WebSocket-Accept"),
    "h_long_101": (None, b"", False, "WSError bad_handshake 0 101 response head longer than 1024 bytes"),
    "h_binary_phrase": (b"HTTP/1.1 404 N\xffot here\r\nLocation: \xff\r\n\r\n", b"", False, "WSError status 404 HTTP 404 b'N"),
    "h_binary_redirect": (b"HTTP/1.1 301 Moved\r\nLocation: ws://\xfe/\r\n\r\n", b"", False, "WSError status 301 HTTP 301 to b'ws://"),
    "h_binary_protocol": (None, b"", False, "WSError subprotocol 0 server selected \"b'ocpp\\\\xff'\""),
    "h_not_http": (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", b"", False, "WSError bad_handshake 0 status line"),
    "h_closes": (b"", b"", True, "WSError bad_handshake 0 status line b''"),
    "h_silent": (b"", b"", False, "WSError timeout 0 no handshake response in 2 s"),
    "h_no_protocol": (None, b"", False, "WSError subprotocol 0 server selected none, offered ocpp1.6"),
    "h_extension": (None, b"", False, "WSError bad_handshake 0 extension"),
    "h_no_upgrade": (None, b"", False, "WSError bad_handshake 0 101 without Upgrade"),
    "h_frames_with_101": (None, f(9, b"hey") + f(1, b"right away") + f(8, b"\x03\xe8"), False,
                          "Closed 1000  | ['right away']"),
}


def _head(path, hdrs):
    """The 101 variants that need the client's key."""
    from wspeer import accept

    acc = b"Sec-WebSocket-Accept: " + accept(hdrs[b"Sec-WebSocket-Key"]) + b"\r\n"
    base = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + acc
    name = path.split("/")[1]
    if name == "h_long_101":
        return base + b"Sec-WebSocket-Protocol: ocpp1.6\r\nX-Pad: " + b"p" * 2000 + b"\r\n\r\n"
    if name == "h_no_protocol":
        return base + b"\r\n"
    if name == "h_binary_protocol":
        return base + b"Sec-WebSocket-Protocol: ocpp\xff\r\n\r\n"
    if name == "h_extension":
        return base + b"Sec-WebSocket-Protocol: ocpp1.6\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    if name == "h_no_upgrade":
        return b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n" + acc + b"Sec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
    return None


def _garbage(seed):
    """Frames with random opcodes, flags, lengths and payloads (valid UTF-8 or not), now
    and then masked, a byte flipped, or the stream cut: bytes that reach every state of the
    client's reader, where uniform random bytes mostly stop at the RSV bits."""
    r = random.Random(seed)
    out = b""
    for _ in range(r.randrange(1, 8)):
        op = r.choice((0, 1, 1, 2, 2, 8, 9, 10, r.randrange(16)))
        if r.random() < 0.5:
            payload = r.randbytes(r.choice((0, 1, 2, 3, 5, 125, 126, 300, 5000)))
        else:
            payload = "\u00e9\u20acok".encode() * r.randrange(30)
        if op == 8 and r.random() < 0.5:  # a close frame with a code the client accepts
            payload = r.choice((1000, 1001, 1011, 3000, 4999)).to_bytes(2, "big") + payload[:100]
        fr = bytearray(f(op, payload, fin=r.random() < 0.7, rsv=0x40 if r.random() < 0.05 else 0,
                         mask=r.randbytes(4) if r.random() < 0.05 else None))
        if r.random() < 0.2:
            fr[r.randrange(len(fr))] ^= 1 << r.randrange(8)
        out += fr
    return out[: r.randrange(len(out) + 1)] if r.random() < 0.3 else out


def _script(path):
    name = path.split("/")[1]
    if name in FRAMES:
        return None, FRAMES[name][0], FRAMES[name][1]
    if name.startswith("garbage"):
        return None, GOOD + _garbage(int(name[7:])), "half"
    head, body, drop, _ = HANDSHAKES[name]
    return head, body, drop


def _run(names, tmp_path):
    srv = RawServer(_script)
    orig = srv.script

    def script(path):
        head, body, drop = orig(path)
        hdrs = srv.requests[path]
        if head is None and path.split("/")[1] in HANDSHAKES:
            head = _head(path, hdrs)
        return head, body, drop

    srv.script = script
    (tmp_path / "names").write_text(" ".join(names))
    with srv:
        p = run_mpy("-c " + SCRIPT, "ws://127.0.0.1:%d" % srv.port, tmp_path / "names", heap="128K", timeout=300)
    assert p.returncode == 0 and p.stdout.rstrip().endswith("DONE"), p.stdout[-3000:] + p.stderr[-3000:]
    out = dict(line.split(" ", 1) for line in p.stdout.splitlines() if " " in line)
    return out, srv


def test_each_bad_frame_ends_in_its_close_code_on_both_sides(tmp_path):
    out, srv = _run(list(FRAMES), tmp_path)
    for name, (_, drop, code, why) in FRAMES.items():
        line = out[name]
        assert line.startswith("Closed %d " % code) and why in line, (name, line)
        assert "['hi']" in line, (name, line)  # the good message before it arrived
        if code != 1006:
            assert srv.closes.get("/%s/CP1" % name) == [code], (name, srv.closes.get("/%s/CP1" % name))
    lo, hi = map(int, out["HEAP"].split())
    # every case frees what it took: the buffers of one connection, nothing accumulates;
    # 2**62 and 40000 bytes were refused by size, not by a failed allocation
    assert hi - lo < 1024, out["HEAP"]


def test_bad_handshakes_end_in_wserror_with_a_reason(tmp_path):
    out, _ = _run(["h_frames_with_101"] + list(HANDSHAKES), tmp_path)
    for name, (_, _, _, want) in HANDSHAKES.items():
        assert out[name].startswith(want), (name, out[name])


def test_garbage_after_the_handshake_never_crashes_the_client(tmp_path):
    names = ["good"] + ["garbage%d" % i for i in range(300)]
    out, srv = _run(names, tmp_path)
    codes = {}
    for name in names[1:]:
        line = out[name]
        assert line.startswith("Closed "), (name, line)
        code = int(line.split()[1])
        codes[code] = codes.get(code, 0) + 1
        sent = srv.closes.get("/%s/CP1" % name, [])
        # the server got our close frame with that code (our echo of a close without a
        # code has none), or nothing when the stream ended first (1006)
        assert sent == [code] or (sent == [None] and code == 1005) or (not sent and code == 1006), (name, line, sent)
    # the garbage reached the protocol checks, UTF-8 checks, a stream cut short, and
    # close frames whose code the client echoed
    assert codes.get(1002, 0) >= 30 and codes.get(1007, 0) >= 5 and codes.get(1006, 0) >= 5, codes
    assert sum(n for c, n in codes.items() if c not in (1002, 1006, 1007)) >= 5, codes
    lo, hi = map(int, out["HEAP"].split())
    assert hi - lo < 1024, out["HEAP"]
