"""Static HTTP server with single byte-range support (206 / 416), for release folders.

make_server(directory, port=0, host="127.0.0.1") returns a ThreadingHTTPServer; tests run
serve_forever() in a thread and read server.server_address[1] for the port. RangeHandler is
meant to be subclassed (e.g. for fault injection): override send_body() or copy_range().
"""
import os
import re
import sys
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
CHUNK = 16384


class RangeHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output quiet
        if getattr(self.server, "verbose", False):
            super().log_message(fmt, *args)

    def list_directory(self, path):  # releases are files; no listings
        self.send_error(HTTPStatus.NOT_FOUND)
        return None

    def parse_range(self, size):
        """(start, end inclusive) of the requested range, None for the whole file, or 'bad'."""
        h = self.headers.get("Range")
        if not h:
            return None
        m = _RANGE.match(h.strip())
        if not m or (not m.group(1) and not m.group(2)):
            return None  # unsupported forms (multiple ranges): RFC 9110 lets us send it all
        a, b = m.group(1), m.group(2)
        if not a:
            n = int(b)
            if n == 0:
                return "bad"
            return max(0, size - n), size - 1
        start = int(a)
        end = min(int(b), size - 1) if b else size - 1
        if start >= size or end < start:
            return "bad"
        return start, end

    def do_GET(self):
        self.serve(head=False)

    def do_HEAD(self):
        self.serve(head=True)

    def serve(self, head):
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        size = os.path.getsize(path)
        rng = self.parse_range(size)
        if rng == "bad":
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", "bytes */%d" % size)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = rng if rng else (0, size - 1)
        self.send_response(HTTPStatus.PARTIAL_CONTENT if rng else HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if rng:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        if not head:
            with open(path, "rb") as f:
                self.send_body(f, start, end - start + 1)

    def send_body(self, f, start, length):
        f.seek(start)
        while length > 0:
            b = f.read(min(CHUNK, length))
            if not b:
                break
            self.wfile.write(b)
            length -= len(b)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return  # a pile that stops a download (power cut, lost link) is no server error
        super().handle_error(request, client_address)


def make_server(directory, port=0, host="127.0.0.1", handler=RangeHandler, verbose=False):
    srv = _Server((host, port), partial(handler, directory=str(directory)))
    srv.verbose = verbose
    return srv
