"""Where a pile's logs go: a loopback HTTP server taking the PUT of GetLog / GetDiagnostics
(docs/ocpp.md "Part 2: logs"), for the tests and the `make sim` scene demo_ocpp_ops.py."""
import http.server
import threading


class Sink(http.server.BaseHTTPRequestHandler):
    """Takes PUTs into server.got [(path, body)]; server.drops: how many uploads to cut after
    100 bytes; server.status: the answer (201 normally)."""

    def do_PUT(self):
        srv = self.server
        n = int(self.headers["Content-Length"])
        with srv.lock:
            drop = srv.drops > 0
            if drop:
                srv.drops -= 1
        if drop:
            self.rfile.read(min(n, 100))
            srv.cut += 1
            self.connection.close()
            return
        body = self.rfile.read(n)
        srv.got.append((self.path, body))
        self.send_response(srv.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


class Server:
    """A Sink on 127.0.0.1 in a thread of its own; `url` is the remoteLocation to give."""

    def __init__(self):
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        self.srv.lock = threading.Lock()
        self.srv.drops, self.srv.cut, self.srv.got, self.srv.status = 0, 0, [], 201
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/up/" % self.srv.server_address[1]

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()
