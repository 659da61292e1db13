"""The sim board's 4G Cat.1 module: the AT modem emulator (peers/atmodem.py) as a UART Peer.

While the emulator is in data mode (after ATD*99# -> CONNECT) `data_mode` is true, which the
harness's link model (sim/wifi.py NetModel) reads to bring the chip's network.PPP up; NO
CARRIER, a hang or a power-off take it down. Faults are set from the test's thread through
the board's loop (`fault(...)`), so the emulator is only ever touched from the I/O thread.

    m = ModemPeer(vendor="quectel", sim="ready", reg="home", pwrkey_pin=12)
    board.attach_uart(1, m)
    m.fault("silent"); m.fault("drop_carrier"); m.set(reg="denied", delay_s=0.5)
"""
import threading

from upile.sim.peers import Peer
from upile.sim.peers.atmodem import AtModem


class ModemPeer(Peer):
    def __init__(self, **kw):
        kw.setdefault("pwrkey_pin", 12)  # config modem.pwrkey_pin default
        kw.setdefault("ready_s", 1.0)
        self.emu = AtModem(**kw)
        self.emu.on_link = self._on_link
        self.board = None
        self.links = []  # (t, up) data link changes
        self._lock = threading.Lock()

    # --- Peer protocol (I/O thread)
    def attach(self, board, uart_id):
        super().attach(board, uart_id)

    def on_rx(self, data):
        self.emu.on_rx(data)

    def poll(self, now):
        return self.emu.poll(now)

    def on_pin(self, pin, level):
        if level is not None:
            self.emu.on_pin(pin, level)

    def on_power(self, on):
        self.emu.on_power(on)

    @property
    def data_mode(self):
        return self.emu.data and self.emu.power == "on"

    def _on_link(self, up):
        with self._lock:
            self.links.append((self.emu.now, up))
        if self.board is not None:
            self.board.event("modem", "data" if up else "command")

    # --- test / demo side (any thread)
    def _call(self, fn, *args):
        if self.board is not None:
            return self.board.loop.call(fn, *args)
        return fn(*args)

    def fault(self, name, *args):
        """"silent" (hang until PWRKEY power cycle), "drop_carrier" (NO CARRIER), "inject"
        (raw bytes), "urc" (one unsolicited line)."""
        return self._call(getattr(self.emu, name), *args)

    def set(self, **kw):
        """Change scripted behaviour: sim, reg, search_s, csq, delay_s, garbage_s, dial_ok..."""
        def do():
            for k, v in kw.items():
                if not hasattr(self.emu, k):
                    raise AttributeError("modem emulator has no setting %r" % k)
                setattr(self.emu, k, v)
        return self._call(do)

    def state(self):
        e = self.emu
        return self._call(lambda: {"power": e.power, "boots": e.boots, "data": e.data,
                                   "commands": list(e.commands), "apn": e.apn})
