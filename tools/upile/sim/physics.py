"""Per-port physics of a community e-bike charging pile, for the sim and device tests.

An e-bike charger is a switched-mode supply with a CC/CV curve: constant power (150-400 W)
until ~80 % state of charge, then the power tapers as the battery nears full, ending at
a standby draw below 15 W. Its input power does not follow the mains voltage (it regulates
its output), and without power-factor correction its PF is 0.5-0.7 (0.95-0.99 with it).
Other loads (loads.py-style models here): a heater or kettle is a resistance, P = V^2/R,
PF 1, its element warming in the first minute (R up a few %); a kettle switches off when
it boils. Several loads on one outlet (an extension lead) add their powers; their currents
add as phasors: the resistive (in-phase) parts add, the rest adds in quadrature.
The mains (Grid) wanders and steps as other loads in the building switch, and the pile's
own supply line drops Z * I. Faults: an extra load (over-power), a welded relay (contacts
stay closed), a silent meter, heat. Runs on CPython and MicroPython (plain arithmetic),
so the device tests drive the same model the sim board's meter peers use.
"""
import math

MAINS_V = 220.0


class Bike:
    """A charger + battery. capacity in Wh, soc 0..1, cc_w the constant-power phase."""

    def __init__(self, cc_w=300.0, capacity_wh=480.0, soc=0.2, cv_at=0.8, idle_w=12.0, pf=0.6):
        self.cc_w, self.capacity_wh, self.soc = float(cc_w), float(capacity_wh), float(soc)
        self.cv_at, self.idle_w, self.pf = cv_at, idle_w, pf

    def full(self):
        return self.soc >= 0.995

    def demand_w(self):
        if self.full():
            return self.idle_w
        if self.soc < self.cv_at:
            return self.cc_w
        frac = (1.0 - self.soc) / (1.0 - self.cv_at)
        return self.idle_w + (self.cc_w - self.idle_w) * frac

    def take(self, wh):
        self.soc = min(1.0, self.soc + wh * 0.92 / self.capacity_wh)

    def power(self, v, dt_s):
        """Load protocol: watts drawn over the next dt_s at mains v (a charger regulates:
        v does not matter), energy taken."""
        p = self.demand_w()
        self.take(p * dt_s / 3600.0)
        return p


class Heater:
    """A resistive load of `watts` when warm at 220 V: P = V^2/R, PF 1. The element starts
    `warm` (fraction) below its hot resistance and warms with time constant tau_s; a kettle
    (off_after_s) switches itself off when it boils; a thermostat (cycle_s) switches it on
    and off with equal halves."""

    pf = 1.0

    def __init__(self, watts=1000.0, warm=0.06, tau_s=25.0, off_after_s=None, cycle_s=None):
        self.r_hot = MAINS_V * MAINS_V / float(watts)
        self.warm, self.tau_s = warm, tau_s
        self.off_after_s, self.cycle_s = off_after_s, cycle_s
        self.heat = 0.0
        self.t = 0.0

    def full(self):
        return False

    def power(self, v, dt_s):
        self.t += dt_s
        if self.off_after_s is not None and self.t >= self.off_after_s:
            self.heat = max(0.0, self.heat - dt_s / 300.0)
            return 0.0
        if self.cycle_s and (self.t % self.cycle_s) >= self.cycle_s / 2:
            return 0.0
        self.heat += (1.0 - self.heat) * (1.0 - math.exp(-dt_s / self.tau_s))
        r = self.r_hot * (1.0 + self.warm * (self.heat - 1.0))
        return v * v / r


class Grid:
    """Mains at the pile: nominal volts, a slow bounded wander, steps as other loads in the
    building switch (every ~step_s on average, up to step_v), and the drop over the pile's
    supply line, z_ohm times the pile's current. Deterministic (seed)."""

    def __init__(self, seed=1, volts=MAINS_V, wander_v=2.0, step_s=20.0, step_v=2.5, z_ohm=0.25):
        self.x = (seed * 2654435761) & 0xFFFFFFFF or 1
        self.volts, self.wander_v, self.step_s, self.step_v, self.z = volts, wander_v, step_s, step_v, z_ohm
        self.drift = 0.0
        self.level = 0.0

    def rand(self):
        # xorshift32: the same sequence on CPython and MicroPython
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x / 4294967296.0

    def volts_at(self, dt_s, amps):
        self.drift += (self.rand() - 0.5) * 0.2 * math.sqrt(max(dt_s, 0.0))
        self.drift = max(-self.wander_v, min(self.wander_v, self.drift))
        if self.step_s and self.rand() < dt_s / self.step_s:
            self.level = (self.rand() * 2.0 - 1.0) * self.step_v
        return self.volts + self.drift + self.level - self.z * amps


class Port:
    """One outlet: relay contact, what is plugged in, faults, and the true energy delivered.

    `relay` is what the coil is told; `contact()` is what the contacts do (a welded relay,
    `stuck`, stays closed whatever the coil is told). `readback` says which side the board's
    readback input senses: "contact" (an opto on the load side: it sees a weld) or "coil"
    (the driver side: it only echoes the command and can never see a weld).
    Every commanded-closed interval is kept in `ledger` for billing tests (see intervals()).
    """

    def __init__(self):
        self._relay = False  # commanded by the chip
        self.bike = None
        self.extra_w = 0.0  # fault: extra resistive load (heater, short)
        self.loads = []  # other loads on the outlet (Heater, or more chargers on a lead)
        self._mix = ()  # (watts, pf) of each load at the last advance: the current's make-up
        self.stuck = False  # fault: contacts welded closed
        self.silent = False  # fault: the metering IC stops talking
        self.readback = "contact"
        self.creep_w = 0.0  # the metering IC counts no energy below this power (anti-creep)
        self.energy_wh = 0.0  # truth: what flowed through this port
        self.uncounted_wh = 0.0  # truth the meter did not count (below creep_w)
        self.p_w = 0.0
        self.t = 0.0  # seconds this port has been advanced: the ledger's clock
        self.ledger = []  # [t_on, t_off|None, wh_on, wh_off, metered_on, metered_off]
        self.open_wh = 0.0  # metered energy that flowed while the relay was commanded open

    @property
    def relay(self):
        return self._relay

    @relay.setter
    def relay(self, on):
        on = bool(on)
        if on == self._relay:
            return
        self._relay = on
        m = self.metered_wh()
        if on:
            self.ledger.append([self.t, None, self.energy_wh, None, m, None])
        elif self.ledger and self.ledger[-1][1] is None:
            rec = self.ledger[-1]
            rec[1], rec[3], rec[5] = self.t, self.energy_wh, m

    def metered_wh(self):
        """Cumulative energy the metering IC counted (truth less what stayed under creep_w)."""
        return self.energy_wh - self.uncounted_wh

    def intervals(self):
        """[(t_on, t_off or None, truth_wh, metered_wh)] per commanded-closed interval."""
        out = []
        m = self.metered_wh()
        for t0, t1, w0, w1, m0, m1 in self.ledger:
            if t1 is None:
                out.append((t0, None, self.energy_wh - w0, m - m0))
            else:
                out.append((t0, t1, w1 - w0, m1 - m0))
        return out

    def contact(self):
        return self._relay or self.stuck

    def readback_level(self):
        """What a readback input on this port shows (see the class docstring)."""
        return self._relay if self.readback == "coil" else self.contact()

    def plug(self, bike=None):
        self.bike = bike if bike is not None else Bike()

    def unplug(self):
        self.bike = None
        self.loads = []

    def advance(self, dt_s, v=MAINS_V):
        p = 0.0
        mix = []
        if self.contact():
            if self.bike is not None:
                p = self.bike.demand_w()
                self.bike.take(p * dt_s / 3600.0)
                mix.append((p, self.bike.pf))
            for ld in self.loads:
                w = ld.power(v, dt_s)
                p += w
                mix.append((w, ld.pf))
            if self.extra_w:
                p += self.extra_w
                mix.append((self.extra_w, 1.0))
        self._mix = mix
        self.p_w = p
        e = p * dt_s / 3600.0
        self.energy_wh += e
        if p < self.creep_w:
            self.uncounted_wh += e
        elif not self._relay:
            self.open_wh += e
        self.t += dt_s
        return p

    def amps(self, p, v=MAINS_V):
        """RMS current at `p` watts with the outlet's load mix of the last advance: each load
        draws P/(V*PF); the in-phase (active) parts add, what is left of each adds in
        quadrature, so a heater beside a charger lifts the PF of the whole."""
        if p <= 0 or v <= 0:
            return 0.0
        mix = self._mix
        if not mix:
            pf = self.bike.pf if self.bike is not None else 1.0
            return p / (v * pf)
        tot = act = sq = 0.0
        for w, pf in mix:
            tot += w
            i = w / (v * pf)
            ia = w / v
            act += ia
            sq += i * i - ia * ia
        if tot <= 0:
            return 0.0
        return math.sqrt(act * act + sq) * p / tot

    def reading(self, v=MAINS_V):
        """(volts, amps, watts, cumulative metered Wh) as the meter would measure them now."""
        return v, self.amps(self.p_w, v), self.p_w, self.metered_wh()


class Plant:
    """All ports of a pile plus its cabinet temperatures (deg C) and the mains voltage."""

    def __init__(self, n=10, sensors=1):
        self.ports = [Port() for _ in range(n)]
        self.temps_c = [25.0] * sensors
        self.mains_v = MAINS_V
        self.grid = None  # a Grid makes the mains wander; None: mains_v stays as set
        self.t = 0.0

    def advance(self, dt_s):
        total = 0.0
        if self.grid is not None:
            # the mains first (its line drop from the current drawn so far), then every load
            # at that voltage: a meter measures V and P of the same moment
            amps = 0.0
            for p in self.ports:
                amps += p.amps(p.p_w, self.mains_v)
            self.mains_v = self.grid.volts_at(dt_s, amps)
        v = self.mains_v
        for p in self.ports:
            total += p.advance(dt_s, v)
        self.t += dt_s
        return total

    def command(self, line):
        """Text control used by `make sim` and the control socket, e.g.
        'plug 3 300 480 0.5' (port, cc W, capacity Wh, soc), 'unplug 3', 'overload 3 2500',
        'stuck 3 1' (welded contacts), 'readback 3 coil' (or contact), 'silent 3 1', 'temp 0 85',
        'mains 230', 'charger 3 250 480 0.3 0.97' (cc W, capacity, soc, PF), 'heater 3 1000'
        (adds a heater of 1000 W to what is plugged), 'kettle 3 1800 150' (boils after 150 s),
        'grid 7' (the mains wanders, seed 7; 'grid off'). Ports are 1-based. Returns 'ok' or
        an error."""
        w = line.split()
        if not w:
            return "error: empty command"
        try:
            if w[0] == "temp":
                self.temps_c[int(w[1])] = float(w[2])
                return "ok"
            if w[0] == "mains":
                self.mains_v = float(w[1])
                return "ok"
            if w[0] == "grid":
                self.grid = None if w[1] == "off" else Grid(int(w[1]))
                if self.grid is None:
                    self.mains_v = MAINS_V
                return "ok"
            port = self.ports[int(w[1]) - 1]
            if w[0] == "plug":
                vals = [float(x) for x in w[2:5]]
                port.plug(Bike(*vals))
            elif w[0] == "charger":
                cc, cap, soc, pf = [float(x) for x in w[2:6]]
                port.plug(Bike(cc, cap, soc, pf=pf))
            elif w[0] == "heater":
                port.loads.append(Heater(float(w[2])))
            elif w[0] == "kettle":
                port.loads.append(Heater(float(w[2]), warm=0.02, off_after_s=float(w[3])))
            elif w[0] == "unplug":
                port.unplug()
            elif w[0] == "overload":
                port.extra_w = float(w[2])
            elif w[0] == "stuck":
                port.stuck = w[2] != "0"
            elif w[0] == "readback":
                if w[2] not in ("coil", "contact"):
                    return "error: readback is coil or contact, not %r" % w[2]
                port.readback = w[2]
            elif w[0] == "silent":
                port.silent = w[2] != "0"
            elif w[0] == "status":
                b = port.bike
                return "relay=%d p=%.1f e=%.3f soc=%s" % (port.contact(), port.p_w, port.energy_wh, "%.3f" % b.soc if b else "-")
            else:
                return "error: unknown command %r" % w[0]
        except (IndexError, ValueError) as e:
            return "error: %s" % e
        return "ok"


def ntc_raw_u16(temp_c, r0=10000.0, beta=3950.0, r_fixed=10000.0):
    """ADC reading (0..65535) of an NTC from the node to ground, fixed resistor to Vcc."""
    import math

    r = r0 * math.exp(beta * (1.0 / (temp_c + 273.15) - 1.0 / 298.15))
    return int(65535 * r / (r + r_fixed))
