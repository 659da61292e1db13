"""DNY's in-band update under our signature: 0xE0 / 0xE2 packets into the OTA engine's push
sink (reached through the station), 0xE4 and 0x05 start our normal update check.

A packet: total u16, number u16 (from 1), 200 bytes of the file at (number - 1) x 200; the
answer: result u8, packet u16 (00 next, 01 resend the packet named, 02 sum error, 03 wrong
type, 04 no check packet, 05 refused). The file is our release container (docs/dny.md):
its signed manifest comes first and nothing is written before it checks out; the vendor's
optional trailing check packet (A1..A8, u32 byte sum, device type, version) is checked when
`total` announces it. Which code a refusal gets (docs/dny.md): another product's release
03, a bad sum, hash or check packet 02, a file without a valid manifest (no container, bad
signature, unknown key, old counter, expired...) 05; the reason goes to the log and, as an
ota.* event, to the bus. 0xE1 (a power board's firmware) is answered 03: we have none.
"""
import time

import log
from firmware.proto.dny import frame, ident
from firmware.station import Refused

_log = log.get("dny")
PKT = 200
CHECK = b"\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8"
# the push sink's refusal reason -> answer code (default 05)
_CODES = {"wrong_product": 3, "bad_sha256": 2, "verify_failed": 2, "bad_index": 2, "busy": 1}


def packets(size):
    return (size + PKT - 1) // PKT


def _ans(code, num):
    return bytes((code, num & 0xFF, (num >> 8) & 0xFF))


class Inband:
    def __init__(self, cli):
        self.cli = cli
        self.sink = None
        self.last = time.ticks_ms()
        self.packets = self.refused = 0

    async def handle(self, cmd, data):
        if cmd == 0xE4:
            return self.check_now("0xE4")
        total, num = frame.u16(data, 0), frame.u16(data, 2)
        if cmd == 0xE1:
            _log.info("0xE1 (power board firmware) refused: this pile has no power board")
            return _ans(3, num or 0)
        if total is None or num is None or not 1 <= num <= total:
            return _ans(1, 1)
        try:
            sink = self.sink = self.cli.st.update_sink()
        except Refused as e:
            _log.info("in-band update refused: %s", e.code)
            return _ans(5, num)
        self.last = time.ticks_ms()
        self.packets += 1
        body = data[4:4 + PKT]
        off = (num - 1) * PKT
        if sink.size is not None and off >= sink.size:
            return self._check_packet(sink, total, num, body)
        if sink.size is not None:
            body = body[:sink.size - off]  # the last packet's padding is not the file's
        err = None
        try:
            pos = await sink.put(off, body)
        except Exception as e:  # the sink's PushError (reason, detail); never leaves the link
            if type(e).__name__ != "PushError":
                raise
            err = e
        if err is not None:
            return self._refused(err.args[0], err.args[1] if len(err.args) > 1 else "", num)
        if pos < off + len(body):
            return _ans(1, pos // PKT + 1)  # a packet before this one is missing: ask for it
        n = packets(sink.size) if sink.size is not None else None
        if n is not None and total not in (n, n + 1):
            sink.refuse("bad_total", "%d packets announced, the file has %d" % (total, n))
            return self._refused("bad_total", "%d packets announced, the file has %d" % (total, n), num)
        if sink.state == "done" and total == n:
            self._install(sink)
        return _ans(0, num)

    def _check_packet(self, sink, total, num, body):
        n = packets(sink.size)
        if num != n + 1 or total != n + 1:
            return _ans(1, min(sink.pos // PKT + 1, n))
        if bytes(body[:8]) != CHECK:
            return self._refused("no_check_packet", "packet %d is not a check packet" % num, num, 4)
        if sink.state != "done":
            return _ans(1, sink.pos // PKT + 1)
        s, dtype, ver = frame.u32(body, 8), frame.u8(body, 12), frame.u16(body, 13)
        if dtype != self.cli.dtype:
            return self._refused("wrong_type", "device type %r, ours %d" % (dtype, self.cli.dtype), num, 3, sink)
        if s != sink.sum:
            return self._refused("bad_sum", "byte sum %r, the file's %d" % (s, sink.sum), num, 2, sink)
        want = ident.fw_number(sink.payload.get("version") or "")
        if ver != want:
            return self._refused("bad_version", "version %r, the manifest's %d" % (ver, want), num, 5, sink)
        self._install(sink)
        return _ans(0, num)

    def _refused(self, reason, detail, num, code=None, sink=None):
        if sink is not None:
            sink.refuse(reason, detail)
        self.refused += 1
        code = _CODES.get(reason, 5) if code is None else code
        _log.warn("in-band update packet %d refused %02x: %s: %s", num, code, reason, detail)
        return _ans(code, num)

    def _install(self, sink):
        _log.info("in-band update complete: installing by the usual policy")
        sink.install()
        sink.drop()
        self.sink = None

    def tick(self, now):
        """A push the server stopped feeding: paused (resumable), its code dropped."""
        if self.sink is not None and time.ticks_diff(now, self.last) >= self.cli.c["push_idle_s"] * 1000:
            _log.info("in-band update paused: no packet for %d s", self.cli.c["push_idle_s"])
            self.sink.drop()
            self.sink = None

    def link_lost(self):
        pass  # the transfer stays; the server resumes it after the reconnect (or it pauses)

    def check_now(self, why):
        """0xE4 / 0x05: our normal update check at the configured update server."""
        try:
            self.cli.st.request_update(request_id="dny")
        except Refused as e:
            _log.info("%s: update check not started: %s", why, e.code)
            return b"\x01"
        _log.info("%s: update check requested", why)
        return b"\x00"
