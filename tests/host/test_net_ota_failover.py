"""A download interrupted by a link switch completes over the other link without fetching
completed bytes again (issue 7). Sim pile on Wi-Fi with the 4G modem emulator on UART 1,
a release server that sends slowly; mid-download the access point goes out of range and,
as a real Wi-Fi loss does to a TCP connection (the sim keeps open connections alive across
a link drop, docs/sim.md), the server drops the connection at that moment. The pile fails
over to cellular, the OTA retry resumes after the bytes it has, and v2 is installed."""
import threading
import time

from upile.sim import otakit
from upile.sim.board import SimBoard
from upile.sim.peers.modem import ModemPeer

import otafault
from otasim import pad_module

_PIECE = 2048
_RATE = 32 * 1024  # bytes/s: the ~150 KB of changed files take ~5 s
V2 = {"firmware/ota_pad%d.py" % i: pad_module(48000, i) for i in (1, 2, 3)}


class SlowCutHandler(otafault.FaultHandler):
    """Sends at _RATE; a data transfer open when server.cut_gen changes is dropped there.
    Log rows: [name, start, end, bytes_sent, completed, t_start]."""

    def send_body(self, f, start, length):
        srv = self.server
        rec = [self.path.rsplit("/", 1)[-1], start, start + length - 1, 0, False, time.monotonic()]
        data_req = self.path.endswith(otafault.DATA)
        if data_req:
            with srv.lock:
                srv.log.append(rec)
        gen = srv.cut_gen
        f.seek(start)
        left = length
        try:
            while left:
                if data_req and srv.cut_gen != gen:
                    break  # the link under this connection is gone
                piece = f.read(min(_PIECE, left))
                self.wfile.write(piece)
                self.wfile.flush()
                rec[3] += len(piece)
                left -= len(piece)
                if data_req:
                    time.sleep(len(piece) / _RATE)
            rec[4] = left == 0
        except OSError:
            pass
        self.close_connection = True


def _wait(board, pattern, timeout, since=0):
    return board.wait_console(pattern, timeout=timeout, since=since)


def test_download_cut_by_a_link_switch_resumes_over_cellular(tmp_path):
    key, keys = otakit.dev_key(tmp_path / "key")
    ch = otakit.Channel(tmp_path / "srv", handler=SlowCutHandler)
    srv = otafault.install(ch)
    srv.cut_gen = 0
    rel = {}
    for name, ver, counter, extra in (("v1", "1.0.0", 1, None), ("v2", "2.0.0", 2, V2)):
        tree = otakit.app_tree(tmp_path / ("tree-" + name), ver, extra=extra)
        rel[name] = (tree, otakit.make(tmp_path / "srv" / name, tree, ver, counter, key))
    ch.publish(tmp_path / "srv" / "v1")
    cfg = otakit.sim_config(ch.url(), {"check_s": 5, "jitter_s": 1, "retries": 4, "backoff_s": 1, "backoff_max_s": 2},
                            extra={"modem": {"apn": "cmnet"}, "net": {"ntp_host": ""}})
    b = SimBoard(tmp_path / "board", heap="1M")
    try:
        tree, payload = rel["v1"]
        b.install_files(otakit.factory_files(tree, tmp_path / "srv" / "v1", payload, keys, cfg))
        modem = ModemPeer(ready_s=0.5)
        b.attach_uart(1, modem)
        b.net.add_ap("sim-ap", "simkey123", rssi=-55)
        b.power_on()
        _wait(b, r"link: up on wifi", 60)
        mark = b.console_mark()
        ch.publish(tmp_path / "srv" / "v2")
        _wait(b, r"OTA Downloading app v=2\.0\.0", 40, mark)
        # cut once the first changed file is whole and the next one is on its way
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with srv.lock:
                rows = [r for r in srv.log if r[0] == "bundle.bin"]
                if any(r[4] for r in rows) and not rows[-1][4] and rows[-1][3] >= 4 * _PIECE:
                    break
            time.sleep(0.02)
        else:
            raise AssertionError("download never got under way: %r" % srv.log)
        mark = b.console_mark()
        t_cut = time.monotonic()
        srv.cut_gen += 1
        b.net.drop("sim-ap")
        _wait(b, r"link: up on cellular", 30, mark)
        assert modem.data_mode
        _wait(b, r"OTA Installing app v=2\.0\.0", 40, mark)
        _wait(b, r"uPile 2\.0\.0 on", 30, mark)  # installed and booted
        log = [r for r in srv.log if r[0] == "bundle.bin"]
        cut = [r for r in log if r[5] < t_cut and not r[4]]
        assert len(cut) == 1, log  # exactly the transfer that the link switch broke
        cut = cut[0]
        after = [r for r in log if r[5] > t_cut]
        assert after and all(r[4] for r in after), log  # finished over cellular (Wi-Fi stayed down)
        # the broken file resumed after the bytes the pile had, not from its start
        resume = [r for r in after if r[1] <= cut[2] <= r[2]]
        assert len(resume) == 1 and cut[1] < resume[0][1] <= cut[1] + cut[3], (cut, resume)
        # no completed byte range was fetched again, before or after the switch
        done = sorted((r[1], r[2]) for r in log if r[4])
        for (a1, b1), (a2, b2) in zip(done, done[1:]):
            assert a2 > b1, done
        for i, r in enumerate(log):
            for a, e in [(x[1], x[2]) for x in log[:i] if x[4]]:
                assert not (a <= r[1] <= e), ("refetched", r, (a, e))
    finally:
        b.close()
        ch.close()
