"""`upile dny-server`: a DNY (AP3000) back end for tests and the bench (docs/dny.md).

It answers what piles send (register, heartbeats, time, settlements, cards), records it per
physical id, and commands them: start and stop with budgets and order numbers, change a
session, parameters, query, reboot, an in-band update pushed in 200-byte packets (with the
optional check packet; it goes on on the pile's next connection after a drop). Settlements
are acknowledged, or withheld while `withhold` is set. Faults for tests: frames dropped
either way, garbage, frames split into pieces, bad checksums, slow and duplicate answers,
and a link model (one-way latency, bytes per second) for the bench's Cat.1 figure.

    srv = DnyServer(port=0).start()      # its own thread and event loop
    srv.wait_pile(timeout=30) -> phys
    srv.start_order(phys, port=0, mode=0, value=3600) -> answer dict (order in "order")
    srv.settled(order) -> [settlement dicts]; srv.push(phys, path) -> result
    srv.faults.update(drop_out=2, garbage=50, split=True, badsum=1, slow_s=2, dup=True)
    srv.close()
"""
import asyncio
import os
import struct
import threading
import time

from upile import dnyproto as P

_PILE_CMDS = (0x01, 0x02, 0x03, 0x05, 0x06, 0x11, 0x12, 0x20, 0x21, 0x22, 0x35, 0x42)


class Pile:
    """What the server knows of one physical id."""

    def __init__(self, phys):
        self.phys = phys
        self.conn = None
        self.connected = asyncio.Event()
        self.iccid = None
        self.reg = None
        self.beats = []  # (time, heartbeat dict)
        self.host = []  # 0x11 dicts
        self.reports = []
        self.alarms = []
        self.cards = []
        self.wants_upgrade = 0
        self.mid = 0
        self.frames = 0
        self.connects = 0

    def view(self):
        hb = self.beats[-1][1] if self.beats else {}
        return {"phys": "%08x" % self.phys, "class": self.phys >> 24, "number": self.phys & 0xFFFFFF,
                "wire": P.wire_hex(self.phys), "iccid": self.iccid, "register": self.reg,
                "connected": self.conn is not None, "heartbeats": len(self.beats), "ports": hb.get("status"),
                "temp_c": hb.get("temp_c"), "volts_dv": hb.get("volts_dv"), "reports": len(self.reports),
                "connects": self.connects}


class Conn:
    def __init__(self, srv, r, w):
        self.srv, self.r, self.w = srv, r, w
        self.parser = P.Parser()
        self.pile = None
        self.lock = asyncio.Lock()
        self.last_cmd = 0.0
        self.waiting = {}  # (mid, cmd) -> future of the pile's answer
        self.out = asyncio.Queue()
        self.links = 0  # "link" keep-alives seen
        self.iccid = None


class DnyServer:
    def __init__(self, port=0, host="127.0.0.1", time_offset=0, gap_s=0.5, log=None):
        self.host, self.port = host, port
        self.time_offset = time_offset
        self.gap_s = gap_s  # between two commands to one pile (the guide's 0.5 s)
        self.log = log
        self.piles = {}
        self.settlements = []  # every 0x03 received: dicts with "phys", "t"
        self.withhold = False  # settlements unanswered while set
        self.settle_code = 0
        self.accounts = {}  # card uid hex -> (status, rate, balance)
        self.faults = {"drop_out": 0, "drop_in": 0, "garbage": 0, "split": False, "badsum": 0, "slow_s": 0.0,
                       "dup": False, "latency_ms": 0, "bytes_per_s": 0}
        self.loop = None
        self._server = None
        self._thread = None
        self.bytes_in = self.bytes_out = 0
        self.frames_in = self.frames_out = self.links = 0  # (TCP segments, for the bench's header estimate)

    # ---- lifetime
    def start(self):
        ready = threading.Event()

        def run():
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            self._server = self.loop.run_until_complete(asyncio.start_server(self._conn, self.host, self.port))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def close(self):
        if self.loop is None:
            return

        async def stop():
            self._server.close()
            for p in self.piles.values():
                if p.conn is not None:
                    p.conn.w.close()

        try:
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)

    def call(self, coro, timeout=None):
        """Run a coroutine on the server's loop from another thread; its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def _say(self, *a):
        if self.log:
            self.log(" ".join(str(x) for x in a))

    # ---- the connection
    async def _conn(self, r, w):
        c = Conn(self, r, w)
        writer = asyncio.ensure_future(self._writer(c))
        try:
            while True:
                data = await r.read(4096)
                if not data:
                    break
                self.bytes_in += len(data)
                lat = self.faults["latency_ms"]
                if lat:
                    await asyncio.sleep(lat / 1000)
                before = len(c.parser.text)
                for f in c.parser.feed(data):
                    await self._frame(c, *f)
                self._text(c, bytes(c.parser.text[before:]))
        except (ConnectionError, OSError):
            pass
        finally:
            writer.cancel()
            if c.pile is not None and c.pile.conn is c:
                c.pile.conn = None
                c.pile.connected.clear()
            for fut in c.waiting.values():
                if not fut.done():
                    fut.set_result(None)
            w.close()

    def _text(self, c, text):
        if not text:
            return
        c.links += text.count(b"link")
        self.links += text.count(b"link")
        t = text.replace(b"link", b"")
        if len(t) >= 20 and t[:20].isalnum():
            c.iccid = t[:20].decode()
            if c.pile is not None:
                c.pile.iccid = c.iccid

    async def _writer(self, c):
        """Frames to the pile in order, through the fault and link models."""
        while True:
            data = await c.out.get()
            f = self.faults
            lat = f["latency_ms"]
            if lat:
                await asyncio.sleep(lat / 1000)
            bps = f["bytes_per_s"]
            if bps:
                await asyncio.sleep(len(data) / bps)
            if f["split"] and len(data) > 2:
                cut = [0, 1 + os.urandom(1)[0] % (len(data) - 1), len(data)]
                for a, b in zip(cut, cut[1:]):
                    c.w.write(data[a:b])
                    await c.w.drain()
                    await asyncio.sleep(0.02)
            else:
                c.w.write(data)
            self.bytes_out += len(data)
            self.frames_out += 1
            try:
                await c.w.drain()
            except (ConnectionError, OSError):
                return

    def _send(self, c, frame):
        f = self.faults
        if f["drop_out"]:
            f["drop_out"] -= 1
            self._say("fault: dropped a frame to the pile")
            return
        if f["garbage"]:
            c.out.put_nowait(os.urandom(f["garbage"]).replace(b"D", b"d"))
            f["garbage"] = 0
        if f["badsum"]:
            f["badsum"] -= 1
            c.out.put_nowait(frame[:-1] + bytes([frame[-1] ^ 0x5A]))  # broken, then (like a resend) the right one
        c.out.put_nowait(frame)
        if f["dup"]:
            c.out.put_nowait(frame)

    async def _frame(self, c, phys, mid, cmd, data):
        f = self.faults
        if f["drop_in"]:
            f["drop_in"] -= 1
            self._say("fault: ignored a frame from the pile")
            return
        p = self.piles.get(phys)
        if p is None:
            p = self.piles[phys] = Pile(phys)
        if p.conn is not c:
            p.conn = c
            p.connects += 1
            p.connected.set()
            if c.iccid:
                p.iccid = c.iccid
        c.pile = p
        p.frames += 1
        self.frames_in += 1
        key = (mid, cmd)
        if cmd not in _PILE_CMDS or key in c.waiting:
            fut = c.waiting.pop(key, None)
            if fut is not None and not fut.done():
                fut.set_result(data)
            return
        ans = self._answer(p, cmd, data)
        if ans is not None:
            if f["slow_s"]:
                await asyncio.sleep(f["slow_s"])
            self._send(c, P.encode(phys, mid, cmd, ans))

    def _answer(self, p, cmd, d):
        now = time.time()
        if cmd == 0x20:
            p.reg = P.register(d)
            self._say("pile %08x registered %s" % (p.phys, p.reg))
            return b"\x00"
        if cmd in (0x21, 0x01):
            if cmd == 0x21:
                p.beats.append((now, P.heartbeat(d)))
            return b"\x00"
        if cmd in (0x22, 0x12):
            return struct.pack("<I", int(now + self.time_offset))
        if cmd == 0x11:
            p.host.append(P.host_beat(d))
            return None
        if cmd == 0x03:
            s = P.settlement(d)
            s.update(phys=p.phys, t=now, raw=d.hex())
            self.settlements.append(s)
            self._say("pile %08x settlement %s" % (p.phys, s))
            return None if self.withhold else bytes([self.settle_code])
        if cmd == 0x06:
            p.reports.append(P.report(d))
            return None
        if cmd == 0x42:
            p.alarms.append({"type": d[0], "port": d[1], "inputs": d[2] if len(d) > 2 else 0})
            return None
        if cmd == 0x02:
            uid = d[0:4].hex()
            p.cards.append({"uid": uid, "type": d[4], "port": d[5]})
            st, rate, bal = self.accounts.get(uid, (1, 0, 0))
            return d[0:4] + struct.pack("<BBIB", st, rate, bal, d[5])
        if cmd == 0x05:
            p.wants_upgrade += 1
            return None
        return None

    # ---- commands to a pile
    async def request(self, phys, cmd, data=b"", timeout=15.0, resends=1, wait_conn=0.0):
        """Send a command; the pile's answer data, or None (unanswered after `resends`
        resends with the same id). With wait_conn, waits that long for the pile to be
        connected (a reconnect) before each try."""
        p = self.piles[phys]
        p.mid = p.mid % 0xFFFF + 1
        mid = p.mid
        for _ in range(resends + 1):
            if p.conn is None and wait_conn:
                try:
                    await asyncio.wait_for(p.connected.wait(), wait_conn)
                except asyncio.TimeoutError:
                    return None
            c = p.conn
            if c is None:
                return None
            async with c.lock:  # the guide: >= gap_s between commands to one pile
                wait = c.last_cmd + self.gap_s - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                fut = self.loop.create_future()
                c.waiting[(mid, cmd)] = fut
                self._send(c, P.encode(phys, mid, cmd, data))
                c.last_cmd = time.monotonic()
            try:
                ans = await asyncio.wait_for(fut, timeout)
            except asyncio.TimeoutError:
                c.waiting.pop((mid, cmd), None)
                continue
            if ans is not None:
                return ans
        return None

    def cmd(self, phys, cmd, data=b"", timeout=15.0, resends=1):
        return self.call(self.request(phys, cmd, data, timeout, resends), timeout * (resends + 1) + 10)

    def start_order(self, phys, port, mode=0, value=0, order=None, balance=0, length=38, timeout=15.0):
        """0x82 start; port 0-based or 0xFF. Returns the answer (dict) with the order sent."""
        order = order or os.urandom(16)
        ans = self.cmd(phys, 0x82, P.start82(port, order, mode, value, balance, length=length), timeout)
        out = P.answer82(ans) if ans else {"result": None}
        out["sent_order"] = order.hex()
        return out

    def stop_order(self, phys, port, order, timeout=15.0):
        ans = self.cmd(phys, 0x82, P.start82(port, bytes.fromhex(order), cmd=0), timeout)
        return P.answer82(ans) if ans else {"result": None}

    def settled(self, order):
        return [s for s in self.settlements if s["order"] == order]

    def wait_pile(self, timeout=30.0, phys=None, registered=True):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for p in list(self.piles.values()):
                if (phys is None or p.phys == phys) and p.conn is not None and (p.reg or not registered):
                    return p.phys
            time.sleep(0.02)
        raise TimeoutError("no pile connected within %.0f s" % timeout)

    # ---- the in-band update
    async def _push(self, phys, data, check=None, start=1, timeout=30.0, resends=3, restart_on_reconnect=False,
                    cmd=0xE0, progress=None):
        n = (len(data) + P.PKT - 1) // P.PKT
        total = n + (1 if check is not None else 0)
        k = start
        p = self.piles[phys]
        seen = p.connects
        sent = 0
        while k <= total:
            if restart_on_reconnect and p.connects != seen:
                seen = p.connects
                k = 1  # a server that starts over after a reconnect
            body = check if (check is not None and k == total) else data[(k - 1) * P.PKT:k * P.PKT]
            ans = await self.request(phys, cmd, struct.pack("<HH", total, k) + body, timeout, resends,
                                     wait_conn=120.0)
            sent += 1
            if ans is None or len(ans) < 3:
                return {"result": None, "packet": k, "sent": sent}
            code, pk = ans[0], ans[1] | ans[2] << 8
            if progress:
                progress(k, code, pk)
            if code == 0:
                k += 1
            elif code == 1:
                k = max(1, pk)  # the packet the pile asks for
            else:
                return {"result": code, "packet": k, "sent": sent}
        return {"result": 0, "packet": total, "sent": sent}

    def push(self, phys, path, check_packet=False, dtype=0, version=0, start=1, timeout=30.0, resends=3,
             restart_on_reconnect=False, progress=None, wait=600.0):
        """Push a file (our release container) in 200-byte packets; {"result": 0 | code |
        None (unanswered), "packet", "sent"}. check_packet: the vendor's trailing packet (byte
        sum, device type, version)."""
        with open(path, "rb") as f:
            data = f.read()
        check = P.check_packet(sum(data), dtype, version) if check_packet else None
        return self.call(self._push(phys, data, check, start, timeout, resends, restart_on_reconnect,
                                    progress=progress), wait)

    def push_async(self, phys, path, **kw):
        """Start a push; returns a concurrent future of its result."""
        with open(path, "rb") as f:
            data = f.read()
        check = P.check_packet(sum(data), kw.pop("dtype", 0), kw.pop("version", 0)) if kw.pop("check_packet", False) \
            else None
        return asyncio.run_coroutine_threadsafe(self._push(phys, data, check, **kw), self.loop)
