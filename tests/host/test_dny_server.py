"""`upile dny-server` and its codec (tools/upile/dnyproto.py, an independent reading of the
sheet): the vendor guide's examples decoded to the values the guide gives, and the command
line driving a minimal pile: listing, QR payloads, an order, settlements, faults."""
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from upile import dnyproto as P

sys.path.insert(0, str(Path(__file__).parent.parent / "device"))
from dnysim import until  # noqa: E402
from dnyvectors import CAPTURED, VENDOR, frame_bytes  # noqa: E402


def _ex(name):
    for n, h in VENDOR + CAPTURED:
        if n.startswith(name):
            f = P.Parser().feed(frame_bytes(h))
            assert len(f) == 1, name
            return f[0]
    raise KeyError(name)


def test_the_guides_pile_frames_decode_to_its_values():
    phys, mid, cmd, d = _ex("V:414")  # settlement
    s = P.settlement(d)
    assert (s["duration_s"], s["max_w"], s["energy_cwh"], s["port"], s["start"], s["reason"]) == (3600, 100.0, 48, 1, 1, 1)
    assert s["order"] == "20190901180000130030380102030405" and s["max5_w"] == 100.0 and s["time"] is None
    r = P.report(_ex("V:502")[3])
    assert (r["port"], r["status"], r["duration_s"], r["energy_cwh"], r["now_w"], r["max_w"], r["min_w"]) == \
        (1, 1, 3600, 48, 100.0, 120.0, 80.0)
    assert (r["volts_dv"], r["amps_ma"], r["temp_c"]) == (2200, 455, 20)
    hb = P.heartbeat(_ex("V:347")[3])
    assert hb["volts_dv"] == 2200 and hb["status"] == [0, 0] and hb["signal"] == 9
    reg = P.register(_ex("V:284")[3])
    assert (reg["fw"], reg["ports"], reg["virtual"], reg["type"]) == (126, 2, 20, 0x21)
    host = P.host_beat(_ex("H:152")[3])
    assert (host["fw"], host["rtc"], host["csq"], host["modem"], host["iccid"]) == (101, 1, 31, 6, "89860413161892009275")
    assert host["time"] == 0x5FA95C5C
    real = P.host_beat(_ex("C 11")[3])  # a real socket: host type 0x55, its IMEI and modem version
    assert (real["host_type"], real["imei"], real["modem_fw"]) == (0x55, "864452069762472", "V1.0.00.000000.0616")
    a = P.answer82(_ex("V:619")[3])
    assert (a["result"], a["order"], a["port"], a["waiting"]) == (0, "12345678" * 4, 1, 0)
    short = P.answer82(_ex("C 82 answer, 2")[3])  # a real socket answers with 2 bytes
    assert short["result"] == 1 and short["order"] is None
    assert P.start82(1, bytes.fromhex("12345678" * 4), 0, 0, 356, max_time=28800, overload=5000, length=29) == \
        _ex("V:611")[3]


class FakePile:
    """A minimal pile: preamble, register, heartbeats, and 0x82 answered 0."""

    def __init__(self, port, phys=P.phys_of(0x05, 13544000)):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.phys = phys
        self.mid = 0
        self.got = []
        self.s.sendall(b"89860413161892009275")
        self.send(0x20, struct.pack("<HBBBBH", 640, 10, 0, 0x29, 0, 0))
        self.send(0x21, struct.pack("<HB", 2200, 10) + bytes([0, 1] + [0] * 8) + b"\x00\x5a")
        threading.Thread(target=self.loop, daemon=True).start()

    def send(self, cmd, data, mid=None):
        if mid is None:
            self.mid += 1
            mid = self.mid
        self.s.sendall(P.encode(self.phys, mid, cmd, data))

    def loop(self):
        p = P.Parser()
        while True:
            try:
                data = self.s.recv(4096)
            except OSError:
                return
            if not data:
                return
            for phys, mid, cmd, d in p.feed(data):
                self.got.append((cmd, d))
                if cmd == 0x82:
                    self.send(0x82, bytes([0]) + d[9:25] + bytes([d[5], 0, 0]), mid)


def test_the_command_line_lists_orders_and_injects_faults():
    p = subprocess.Popen([sys.executable, "-m", "upile", "dny-server", "--port", "0", "--gap", "0"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    try:
        lines = []  # everything it prints, read by a thread (a readline here could block for ever)

        def reader():
            for line in p.stdout:
                lines.append(line.rstrip("\n"))

        threading.Thread(target=reader, daemon=True).start()
        end = time.monotonic() + 20
        while not lines and time.monotonic() < end:
            time.sleep(0.02)
        port = int(lines[0].split(":")[1].split()[0])
        pile = FakePile(port)

        def ask(line, until):
            """Send a command; the lines printed since, up to the first that contains `until`."""
            mark = len(lines)
            p.stdin.write(line + "\n")
            p.stdin.flush()
            end = time.monotonic() + 20
            while time.monotonic() < end:
                for i in range(mark, len(lines)):
                    if until in lines[i]:
                        return lines[mark:i + 1]
                time.sleep(0.02)
            raise AssertionError("%s: no %r in %r" % (line, until, lines[mark:]))

        until(lambda: any(" registered " in x for x in lines), 20, what="the fake pile's register")
        ask("piles", "'number': 13544000")
        assert "'iccid': '89860413161892009275'" in ask("piles", "13544000")[-1]
        assert ask("ports", "1=0 ")[-1].startswith("1=0 2=1 3=0")
        qr = ask("qr http://ap3200.example.cn/ap3200/", "port 10")
        assert "pile http://ap3200.example.cn/ap3200/40aace05/ff" in qr
        assert "port 1 http://ap3200.example.cn/ap3200/40aace05/00" in qr
        out = ask("start 13544000 3 time 3600 20230503234223414193991312684105", "'result'")
        assert "'result': 0" in out[-1] and "'order': '20230503234223414193991312684105'" in out[-1]
        assert "'port': 2" in out[-1]
        start = [d for c, d in pile.got if c == 0x82][-1]
        assert start[0] == 0 and struct.unpack_from("<H", start, 7)[0] == 3600 and start[5] == 2
        ask("withhold on", "settlements withheld")
        pile.send(0x03, bytes(37))
        ask("settlements", "'duration_s': 0")
        pile.send(0x21, struct.pack("<HB", 2200, 10) + bytes(10) + b"\x00\x5a")  # answered in order:
        end = time.monotonic() + 10  # its answer comes after any answer to the settlement would
        while not [c for c, d in pile.got if c == 0x21] and time.monotonic() < end:
            time.sleep(0.05)
        assert [c for c, d in pile.got if c == 0x21] and not [c for c, d in pile.got if c == 0x03]
        ask("withhold off", "acknowledged")
        pile.send(0x03, bytes(37))
        end = time.monotonic() + 10
        while not [c for c, d in pile.got if c == 0x03] and time.monotonic() < end:
            time.sleep(0.05)
        assert [d for c, d in pile.got if c == 0x03] == [b"\x00"]
        ask("fault drop-out 1", "fault drop_out = 1")
        ask("fault nonsense 3", "error: no fault nonsense")
        ask("stop 13544000", "error")  # a stop needs its order number
    finally:
        p.stdin.close()
        try:
            p.wait(10)
        finally:
            p.kill()
