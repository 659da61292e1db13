"""Metering side of the sim pile: the peer on the meter UART (behind the board's mux).

It plays the PCB around the ESP32's charging pins: the 74HC595 relay chain (decoded from
the data/clock/latch pins) or GPIO relays, the contact readback inputs, the analog mux
that puts one meter's TX on the UART, the metering ICs themselves (HLW8032 pushing frames,
BL0942/BL0939 answering read commands, encoded from the physics), and the cabinet NTCs.
Tests and `make sim` drive the physics (`peer.plant`, or text commands via command()).

Timing is the chips': a reading is older than the bytes that carry it. An HLW8032 sends
frames back to back (55 ms each at 4800 8E1) on its own free-running phase, each frame
holding the values of the moment it started, so the mux first shows the tail of a frame
and a frame that started before a relay edge arrives after it. A BL09xx answers a request
with registers refreshed every 400 ms from the average of the last 400 ms (RMS_UPDATE_SEL
default). Everything follows the time the harness passes to poll() (a pin edge takes
effect at the last poll's time, at most one 5 ms tick early), so a test that calls poll()
and on_pin() itself replays a race exactly.
"""
import threading

from upile.sim import frames, physics
from upile.sim.peers import Peer

_BYTE_S = 11 / 4800.0  # one byte at 4800 8E1; on_open sets the real figure
_BL_WINDOW_S = 0.4
_SENT_MAX = 256


class MeterPeer(Peer):
    """hold_s: HLW8032 no-load detection delay (see frames.HLW8032Enc): 5 s as the vendor's
    FAQ says, so the firmware meets it in every sim test."""

    def __init__(self, pins, n=10, chip="hlw8032", meter_cfg=None, plant=None, ntc=(10000.0, 3950.0, 10000.0),
                 hold_s=5.0):
        self.pins_map = pins
        self.n = n
        self.chip = chip
        self.plant = plant or physics.Plant(n, len(pins.get("temp_adc") or ()) or 1)
        per = 2 if chip == "bl0939" else 1
        self.encs = [frames.encoder(chip, meter_cfg, k) for k in range((n + per - 1) // per)]
        for e in self.encs:
            if chip == "hlw8032":
                e.hold_s = hold_s
        creep = self.encs[0].creep_w()
        for p in self.plant.ports:
            p.creep_w = creep  # under it the chip counts nothing: the metered truth knows
        self.per = per
        self.ntc = ntc
        self.lock = threading.Lock()
        self.board = None
        self._sr = 0
        self._sr_pins = tuple(pins.get("hc595") or ())
        self._relay_pins = tuple(pins.get("relay") or ())
        self._mux_pins = tuple(pins.get("meter_mux") or ())
        self._mux_q = tuple(pins.get("meter_mux_q") or ())  # selects on 74HC595 outputs
        self._levels = {}
        self._sel = 0
        self._last = None
        self._byte_s = _BYTE_S
        self._credit = 0.0  # bytes the selected meter may put on the wire by now
        self._pending = bytearray()  # the selected meter's frame still to go out
        self._cut = True  # the mux just moved: the wire is inside the new chip's frame
        self._window = _BL_WINDOW_S if chip != "hlw8032" else 0.0
        self._snap = [0.0] * n  # BL09xx: power registers as of the last refresh
        self._snap_e = [0.0] * n
        self._snap_t = None
        self._fb_sent = {}
        self._temps_sent = None
        self.frames_sent = 0
        self.sent = []  # (t_measured, meter index, (watts reported per port)), the latest _SENT_MAX

    # ---- control (tests, `make sim`)
    def command(self, line):
        """Plant commands (physics.Plant.command) plus 'hold 5': the HLW8032s' no-load
        detection delay in seconds (0: immediate, the default; real chips take ~5 s)."""
        w = line.split()
        with self.lock:
            if w and w[0] == "hold" and self.chip == "hlw8032":
                try:
                    hold = float(w[1])
                except (IndexError, ValueError):
                    return "error: hold takes seconds"
                for e in self.encs:
                    e.hold_s = hold
                return "ok"
            return self.plant.command(line)

    def ledger(self, i):
        """Port i (0-based): one dict per commanded-closed relay interval, for billing tests.
        t_on/t_off (None while closed) on the plant clock; wh: what flowed (truth);
        metered_wh: what the metering IC counted (less what stayed under its creep);
        pulses: the chip's energy counter advance over the interval (what a parser sees)."""
        with self.lock:
            port = self.plant.ports[i]
            enc = self.encs[i // self.per]
            out = []
            m_now = port.metered_wh()
            for t0, t1, w0, w1, m0, m1 in port.ledger:
                if m1 is None:
                    m1, w1 = m_now, port.energy_wh
                out.append({"t_on": t0, "t_off": t1, "wh": w1 - w0, "metered_wh": m1 - m0,
                            "pulses": enc.pulses(m1) - enc.pulses(m0)})
            return out

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
                if self._mux_q:
                    sel = 0
                    for b, q in enumerate(self._mux_q):
                        sel |= ((self._sr >> q) & 1) << b
                    self._select(sel)
            elif pin in self._relay_pins:
                self.plant.ports[self._relay_pins.index(pin)].relay = bool(level)
            elif pin in self._mux_pins:
                sel = 0
                for b, p in enumerate(self._mux_pins):
                    sel |= (self._levels.get(p, 0) & 1) << b
                self._select(sel)
        self._sync_inputs()

    def _select(self, sel):
        # caller holds the lock
        if sel != self._sel:
            # the mux cuts the deselected meter's frame mid-wire: its rest is never seen
            self._pending.clear()
            self._cut = True
        self._sel = sel

    def _sync_inputs(self):
        if self.board is None:
            return
        fb = self.pins_map.get("relay_fb") or ()
        for i, pin in enumerate(fb[: self.n]):
            c = 1 if self.plant.ports[i].readback_level() else 0
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
                    p.relay = False  # relays are coils: no power, no contact (unless welded)
            self._sr = 0

    # ---- the physics and the chips' measurement
    def _advance(self, now):
        # caller holds the lock
        dt = now - self._last if self._last is not None and now > self._last else 0.0
        if dt:
            self.plant.advance(dt)
        if self._last is None or now > self._last:
            self._last = now
        if self._window:
            self._refresh(now)
        return dt

    def _refresh(self, now):
        # BL09xx registers: every window, the average power over the window just ended
        if self._snap_t is None:
            self._snap_t = now
            self._snap_e = [p.energy_wh for p in self.plant.ports]
            return
        span = now - self._snap_t
        if span < self._window:
            return
        for i, p in enumerate(self.plant.ports):
            self._snap[i] = (p.energy_wh - self._snap_e[i]) * 3600.0 / span
            self._snap_e[i] = p.energy_wh
        self._snap_t = now

    def _measure(self, i, v):
        """(volts, amps, watts, metered Wh) port i's chip reports now."""
        port = self.plant.ports[i]
        if not self._window:
            return port.reading(v)
        p = self._snap[i]
        return v, port.amps(p, v), p, port.metered_wh()

    def _frame(self, k, now):
        v = self.plant.mains_v
        if self.per == 2:
            ia, ib = 2 * k, min(2 * k + 1, self.n - 1)
            if self.plant.ports[ia].silent:
                return None
            ra, rb = self._measure(ia, v), self._measure(ib, v)
            self._log(now, k, (ra[2], rb[2]))
            return self.encs[k].frame(v, ra[1:], rb[1:])
        port = self.plant.ports[k] if k < self.n else None
        if port is None or port.silent:
            return None
        r = self._measure(k, v)
        self._log(now, k, (r[2],))
        if self.chip == "hlw8032":
            return self.encs[k].frame(*r, t=now)
        return self.encs[k].frame(*r)

    def _log(self, now, k, watts):
        self.sent.append((now, k, watts))
        if len(self.sent) > _SENT_MAX:
            del self.sent[0]
        self.frames_sent += 1

    def on_rx(self, data):
        if self.chip == "hlw8032":
            return
        with self.lock:
            if bytes(data[-2:])[-1:] == b"\xaa":  # a read command: answer for the selected chip
                f = self._frame(self._sel, self._last or 0.0)
                if f:
                    self._pending += f

    def on_open(self, baudrate, bits, parity, stop):
        self._byte_s = (1 + bits + (0 if parity is None else 1) + stop) / float(baudrate)

    def _phase(self, k, now):
        # where chip k is in its own back-to-back frame train (a fixed, distinct phase each)
        frame_s = 24 * self._byte_s
        return int(((now + 0.0131 * k) % frame_s) / self._byte_s)

    def poll(self, now):
        # bytes leave at the wire rate, so a mux switch cuts a frame where the wire is
        # (the harness queue never holds a whole frame of a meter that is no longer selected)
        with self.lock:
            dt = self._advance(now)
            self._credit = min(self._credit + dt / self._byte_s, 8.0)
            if self.chip == "hlw8032" and not self._pending:
                f = self._frame(self._sel, now)  # HLW8032: frames back to back, ~55 ms each
                if f:
                    # just selected: the wire is somewhere inside this chip's current frame
                    self._pending += f[self._phase(self._sel, now):] if self._cut else f
                    self._cut = False
            n = min(int(self._credit), len(self._pending))
            out = None
            if n:
                out = bytes(self._pending[:n])
                del self._pending[:n]
                self._credit -= n
        self._sync_inputs()
        return out
