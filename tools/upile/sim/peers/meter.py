"""Metering side of the sim pile: the peer on the meter UART (behind the board's mux).

It plays the PCB around the ESP32's charging pins: the 74HC595 relay chain (decoded from
the data/clock/latch pins) or GPIO relays, the contact readback inputs, the analog mux
that puts one meter's TX on the UART, the metering ICs themselves (HLW8032 pushing frames,
BL0942/BL0939 answering read commands, encoded from the physics), and the cabinet NTCs.
Tests and `make sim` drive the physics (`peer.plant`, or text commands via command()).
"""
import threading

from upile.sim import frames, physics
from upile.sim.peers import Peer

_BYTE_S = 11 / 4800.0  # one byte at 4800 8E1; on_open sets the real figure


class MeterPeer(Peer):
    def __init__(self, pins, n=10, chip="hlw8032", meter_cfg=None, plant=None, ntc=(10000.0, 3950.0, 10000.0)):
        self.pins_map = pins
        self.n = n
        self.chip = chip
        self.plant = plant or physics.Plant(n, len(pins.get("temp_adc") or ()) or 1)
        per = 2 if chip == "bl0939" else 1
        self.encs = [frames.encoder(chip, meter_cfg) for _ in range((n + per - 1) // per)]
        self.per = per
        self.ntc = ntc
        self.lock = threading.Lock()
        self.board = None
        self._sr = 0
        self._sr_pins = tuple(pins.get("hc595") or ())
        self._relay_pins = tuple(pins.get("relay") or ())
        self._mux_pins = tuple(pins.get("meter_mux") or ())
        self._levels = {}
        self._sel = 0
        self._last = None
        self._byte_s = _BYTE_S
        self._credit = 0.0  # bytes the selected meter may put on the wire by now
        self._pending = bytearray()  # the selected meter's frame still to go out
        self._fb_sent = {}
        self._temps_sent = None
        self.frames_sent = 0

    # ---- control (tests, `make sim`)
    def command(self, line):
        with self.lock:
            return self.plant.command(line)

    # ---- pins from the chip
    def on_pin(self, pin, level):
        if level is None:
            return
        old = self._levels.get(pin)
        self._levels[pin] = level
        sr = self._sr_pins
        with self.lock:
            if sr and pin == sr[1] and level == 1 and old != 1:  # clock rising: shift data in
                self._sr = ((self._sr << 1) | self._levels.get(sr[0], 0)) & 0xFFFF
            elif sr and pin == sr[2] and level == 1 and old != 1:  # latch: outputs follow
                for i in range(self.n):
                    self.plant.ports[i].relay = bool((self._sr >> i) & 1)
            elif pin in self._relay_pins:
                self.plant.ports[self._relay_pins.index(pin)].relay = bool(level)
            elif pin in self._mux_pins:
                sel = 0
                for b, p in enumerate(self._mux_pins):
                    sel |= (self._levels.get(p, 0) & 1) << b
                if sel != self._sel:
                    # the mux cuts the deselected meter's frame mid-wire: its rest is never seen
                    self._pending.clear()
                self._sel = sel
        self._sync_inputs()

    def _sync_inputs(self):
        fb = self.pins_map.get("relay_fb") or ()
        for i, pin in enumerate(fb[: self.n]):
            c = 1 if self.plant.ports[i].contact() else 0
            if self._fb_sent.get(pin) != c:
                self._fb_sent[pin] = c
                self.board.set_pin(pin, c)
        temps = tuple(int(t) for t in self.plant.temps_c)
        if temps != self._temps_sent:
            self._temps_sent = temps
            for pin, t in zip(self.pins_map.get("temp_adc") or (), self.plant.temps_c):
                self.board.set_adc(pin, physics.ntc_raw_u16(t, *self.ntc) >> 4)

    def on_power(self, on):
        if not on:
            with self.lock:
                for p in self.plant.ports:
                    p.relay = False  # relays are coils: no power, no contact
            self._sr = 0

    # ---- the meters
    def _frame(self, k):
        v = self.plant.mains_v
        if self.per == 2:
            a, b = self.plant.ports[2 * k], self.plant.ports[min(2 * k + 1, self.n - 1)]
            if a.silent:
                return None
            ra, rb = a.reading(v), b.reading(v)
            return self.encs[k].frame(v, ra[1:], rb[1:])
        port = self.plant.ports[k] if k < self.n else None
        if port is None or port.silent:
            return None
        return self.encs[k].frame(*port.reading(v))

    def on_rx(self, data):
        if self.chip == "hlw8032":
            return
        with self.lock:
            if bytes(data[-2:])[-1:] == b"\xaa":  # a read command: answer for the selected chip
                f = self._frame(self._sel)
                if f:
                    self._pending += f
                    self.frames_sent += 1

    def on_open(self, baudrate, bits, parity, stop):
        self._byte_s = (1 + bits + (0 if parity is None else 1) + stop) / float(baudrate)

    def poll(self, now):
        # bytes leave at the wire rate, so a mux switch cuts a frame where the wire is
        # (the harness queue never holds a whole frame of a meter that is no longer selected)
        with self.lock:
            dt = now - self._last if self._last is not None and now > self._last else 0.0
            if dt:
                self.plant.advance(dt)
            self._last = now
            self._credit = min(self._credit + dt / self._byte_s, 8.0)
            if self.chip == "hlw8032" and not self._pending:
                f = self._frame(self._sel)  # HLW8032: frames back to back, ~55 ms each
                if f:
                    self._pending += f
                    self.frames_sent += 1
            n = min(int(self._credit), len(self._pending))
            out = None
            if n:
                out = bytes(self._pending[:n])
                del self._pending[:n]
                self._credit -= n
        if self.board is not None:
            self._sync_inputs()
        return out
