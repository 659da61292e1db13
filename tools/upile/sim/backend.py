"""A stand-in backend on loopback for link tests: accepts TCP connections (the link
manager's reachability probe) and records when each arrived."""
import socket
import threading
import time


def probe_backend():
    """Start it; returns (listening socket, list of accept times). Close the socket to stop."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    accepted = []

    def loop():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            accepted.append(time.monotonic())
            c.close()

    threading.Thread(target=loop, daemon=True).start()
    return srv, accepted
