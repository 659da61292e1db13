"""The chip's control wire (chip/_simlink.py): a TCP listener the harness owns; each chip
boot connects once. Lines in both directions, see chip/_simlink.py for the vocabulary."""
import socket

from upile.sim.ioloop import listen_loopback, recv_nowait


class ControlLink:
    def __init__(self, loop, on_line, on_connect=None):
        self.loop = loop
        self.on_line = on_line
        self.on_connect = on_connect  # fn(): a chip connected (it gets the state it may have missed)
        self._srv = listen_loopback(4)
        self.port = self._srv.getsockname()[1]
        self._conn = None
        self._buf = b""
        loop.add_reader(self._srv, self._accept)

    def _accept(self, srv):
        try:
            c, _ = srv.accept()
        except BlockingIOError:
            return
        self.drop()
        c.setblocking(False)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._conn = c
        self._buf = b""
        self.loop.add_reader(c, self._read)
        if self.on_connect is not None:
            self.on_connect()

    def _read(self, c):
        data = recv_nowait(c)
        if data is None:
            return
        if not data:
            if c is self._conn:
                self.drop()
            else:
                self.loop.remove_reader(c)
                c.close()
            return
        if c is not self._conn:
            return
        self._read_data(c, data)

    def _read_data(self, c, data):
        self._buf += data
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            self.on_line(line.decode("utf-8", "replace"))
            if self._conn is not c:  # the line restarted the chip
                return

    def drain(self):
        """Handle the lines a chip that just stopped wrote before it went (an RTC memory
        write, a re-armed watchdog): on a board they took effect when written."""
        c = self._conn
        while c is not None and c is self._conn:
            data = recv_nowait(c)
            if not data:
                return
            self._read_data(c, data)

    def send(self, line):
        if self._conn is None:
            return False
        try:
            self._conn.sendall((line + "\n").encode())
            return True
        except OSError:
            self.drop()
            return False

    def drop(self):
        if self._conn is not None:
            self.loop.remove_reader(self._conn)
            try:
                self._conn.close()
            except OSError:
                pass
            self._conn = None

    def close(self):
        self.drop()
        self.loop.remove_reader(self._srv)
        self._srv.close()
