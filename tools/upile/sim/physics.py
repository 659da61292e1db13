"""Per-port physics of a community e-bike charging pile, for the sim and device tests.

An e-bike charger is a switched-mode supply with a CC/CV curve: constant power (150-400 W)
until ~80 % state of charge, then the power tapers as the battery nears full, ending at
a standby draw below 15 W. Faults: an extra load (over-power), a welded relay (contacts
stay closed), a silent meter, heat. Runs on CPython and MicroPython (plain arithmetic),
so the device tests drive the same model the sim board's meter peers use.
"""

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

    def advance(self, dt_s):
        p = 0.0
        if self.contact():
            if self.bike is not None:
                p = self.bike.demand_w()
                self.bike.take(p * dt_s / 3600.0)
            p += self.extra_w
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
        """Current the port draws at `p` watts (the bike charger's power factor, 1 for a heater)."""
        if p <= 0 or v <= 0:
            return 0.0
        pf = self.bike.pf if (self.bike is not None and self.extra_w == 0) else 1.0
        return p / (v * pf)

    def reading(self, v=MAINS_V):
        """(volts, amps, watts, cumulative metered Wh) as the meter would measure them now."""
        return v, self.amps(self.p_w, v), self.p_w, self.metered_wh()


class Plant:
    """All ports of a pile plus its cabinet temperatures (deg C) and the mains voltage."""

    def __init__(self, n=10, sensors=1):
        self.ports = [Port() for _ in range(n)]
        self.temps_c = [25.0] * sensors
        self.mains_v = MAINS_V
        self.t = 0.0

    def advance(self, dt_s):
        total = 0.0
        for p in self.ports:
            total += p.advance(dt_s)
        self.t += dt_s
        return total

    def command(self, line):
        """Text control used by `make sim` and the control socket, e.g.
        'plug 3 300 480 0.5' (port, cc W, capacity Wh, soc), 'unplug 3', 'overload 3 2500',
        'stuck 3 1' (welded contacts), 'readback 3 coil' (or contact), 'silent 3 1', 'temp 0 85',
        'mains 230'. Ports are 1-based. Returns 'ok' or an error."""
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
            port = self.ports[int(w[1]) - 1]
            if w[0] == "plug":
                vals = [float(x) for x in w[2:5]]
                port.plug(Bike(*vals))
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
