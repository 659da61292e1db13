"""Fault-injecting release server for OTA tests: upile.serve's RangeHandler with faults.

server.fault = (kind, count): the next `count` requests for bundle.bin/image.bin fail with
`kind` (count None = until cleared). server.log records every data request as
[path, start, end, bytes_sent, completed] so tests can assert what was (re)downloaded.
Kinds: drop (connection closed at a random offset), stall (stops sending, past the
client's timeout), corrupt (one byte flipped), short_len (Content-Length larger than the
bytes sent), long_body (more bytes than the range asked), 404, 500, redirect_loop.
"""
import random
import threading
import time

from upile.serve import RangeHandler

DATA = ("bundle.bin", "image.bin")


class FaultHandler(RangeHandler):
    def _fault(self):
        srv = self.server
        if not self.path.endswith(DATA):
            return None
        with srv.lock:
            if srv.skip > 0:  # let this many data requests through before faults start
                srv.skip -= 1
                return None
            kind, count = srv.fault
            if kind is None:
                return None
            if count is not None:
                if count <= 0:
                    return None
                srv.fault = (kind, count - 1)
            return kind

    def serve(self, head):
        kind = self._fault()
        self._kind = kind
        if kind in ("404", "500"):
            self.send_error(int(kind))
            return
        if kind == "redirect_loop":
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().serve(head)

    def send_header(self, name, value):
        if name == "Content-Length" and getattr(self, "_kind", None) in ("short_len", "long_body"):
            value = str(int(value) + 1000)
        super().send_header(name, value)

    def send_body(self, f, start, length):
        kind = getattr(self, "_kind", None)
        rec = [self.path.rsplit("/", 1)[-1], start, start + length - 1, 0, False]
        with self.server.lock:
            self.server.log.append(rec)
        f.seek(start)
        data = f.read(length)
        cut = random.randrange(0, max(1, length)) if kind in ("drop", "stall") else length
        if kind == "corrupt" and data:
            i = random.randrange(len(data))
            data = data[:i] + bytes([data[i] ^ 0x55]) + data[i + 1:]
        if kind == "long_body":
            data += b"\0" * 1000
            cut = len(data)
        try:
            self.wfile.write(data[:cut])
            self.wfile.flush()
            rec[3] = cut
            if kind == "stall":
                time.sleep(self.server.stall_s)
            elif kind in ("drop", "short_len"):
                pass  # the handler returns and the connection closes early
            else:
                rec[4] = kind is None and cut >= length  # a good, whole transfer
        except OSError:
            pass
        self.close_connection = True


def install(channel, stall_s=4.0):
    """Give a Channel's server the fault state (call right after creating the Channel)."""
    srv = channel.server
    srv.lock = threading.Lock()
    srv.fault = (None, None)
    srv.skip = 0
    srv.log = []
    srv.stall_s = stall_s
    return srv
