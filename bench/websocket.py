"""WebSocket client figures: 1 KiB text messages echoed over loopback (ws:// and wss://) by
the `websockets` server (tests/host/wspeer.py), and the client's heap: its code, an idle
connection, a max-size message. The client runs under `micropython` as `upile build`'s
.mpy files, loaded into the heap as a device loads them. Prints labelled figures.
Usage: .venv/bin/python bench/websocket.py
"""
import os
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests"), str(ROOT / "tests" / "host")]

from mpy import micropython_bin  # noqa: E402
from upile.cmd_build import build  # noqa: E402
from wspeer import WsServer, pki  # noqa: E402

N = 3000  # messages per run
SIZE = 16384  # the client's default max_size

CLIENT = r'''
import asyncio, gc, sys, time
mode, url, ca = sys.argv[1], sys.argv[2], sys.argv[3]
gc.collect(); m0 = gc.mem_alloc()
import websocket
gc.collect(); m1 = gc.mem_alloc()
import netconn  # connect() imports it: counted apart
gc.collect(); m2 = gc.mem_alloc()
opts = {"cadata": open(ca, "rb").read()} if url.startswith("wss") else {}

async def warm():  # asyncio's wait_for, Lock and Event code loads on first use
    ws = await websocket.connect(url, **opts)
    await ws.send("x")
    await ws.recv()
    await ws.close()

async def main():
    await warm()
    gc.collect(); m3 = gc.mem_alloc()
    ws = await websocket.connect(url, **opts)
    gc.collect(); m4 = gc.mem_alloc()
    if mode == "heap":
        print("CODE", m1 - m0, "NETCONN", m2 - m1, "IDLE", m4 - m3)
        big = "m" * %(size)d
        gc.collect(); m5 = gc.mem_alloc()
        await ws.send(big)
        got = await ws.recv()
        gc.collect()
        print("HELD", gc.mem_alloc() - m5, got == big)
    else:
        n = int(mode)
        msg = "t" * 1024
        async def reader():
            for _ in range(n):
                await ws.recv()
        t0 = time.ticks_ms()
        task = asyncio.create_task(reader())
        for _ in range(n):
            await ws.send(msg)
        await task
        print("MS", time.ticks_diff(time.ticks_ms(), t0))
    await ws.close()
    print("OK")
asyncio.run(main())
''' % {"size": SIZE}


def client(tmp, mode, url, heap="256K"):
    """The client's CompletedProcess, with .cpu: its CPU seconds (user + system)."""
    lib = build("x64") / "lib"
    script = tmp / "wsbench.py"
    script.write_text(CLIENT)
    env = dict(os.environ, MICROPYPATH=".frozen:" + str(lib))
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([micropython_bin(), "-X", "heapsize=" + heap, str(script), mode, url, str(tmp / "ca.der")],
                       env=env, capture_output=True, text=True, timeout=300)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p.cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
    return p


def figures(p):
    if p.returncode or "OK" not in p.stdout:
        raise SystemExit("bench/websocket: client failed:\n" + p.stdout[-2000:] + p.stderr[-2000:])
    return {k: int(v) for k, v in re.findall(r"(\w+) (-?\d+)", p.stdout)}


def smallest_heap(tmp, url):
    """The smallest -X heapsize (1 KB steps) in which connecting and echoing a max-size
    message works, interpreter and modules included."""
    lo, hi = 24, 256
    while hi - lo > 1:
        mid = (lo + hi) // 2
        p = client(tmp, "heap", url, "%dK" % mid)
        lo, hi = (lo, mid) if p.returncode == 0 and "OK" in p.stdout else (mid, hi)
    return hi


def main():
    import ssl

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        pki(tmp)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tmp / "server.pem", tmp / "server.key.pem")
        with WsServer(subprotocols=["ocpp1.6"]) as plain, WsServer(subprotocols=["ocpp1.6"], ssl=ctx) as tls:
            urls = {"ws": "ws://127.0.0.1:%d/echo/CP1" % plain.port, "wss": "wss://localhost:%d/echo/CP1" % tls.port}
            for kind, url in urls.items():
                runs = []
                for _ in range(5):
                    p = client(tmp, str(N), url)
                    runs.append((figures(p)["MS"], p.cpu))
                runs.sort()
                ms, cpu = runs[2]
                print("%-3s 1 KiB text messages echoed (%d each way, reader and sender tasks), median of 5 runs: "
                      "%d ms, %d msg/s, %.2f MB/s each way (best %d ms); client CPU %.0f us per message sent "
                      "and received (process start and TLS handshake included)"
                      % (kind, N, ms, N * 1000 // ms, N * 1024 / 1e6 / (ms / 1000), runs[0][0], cpu * 1e6 / N))
            for kind, url in urls.items():
                f = figures(client(tmp, "heap", url))
                print("%-3s heap: code %d B (websocket, wsconn, wsframe .mpy) + netconn %d B; idle connection %d B; "
                      "a %d-byte message held after recv %d B; smallest heap to connect and echo it: %dK"
                      % (kind, f["CODE"], f["NETCONN"], f["IDLE"], SIZE, f["HELD"], smallest_heap(tmp, url)))


if __name__ == "__main__":
    main()
