"""MeterValues: sampled (Sample.Periodic) and clock-aligned (Sample.Clock); OCPP 1.6 3.16.

- Sampled values come from the pile's session.sample events, every MeterValueSampleInterval
  (= charging.sample_s: one knob, the pile samples every running session at that period),
  with the measurands of MeterValuesSampledData, for sessions that are OCPP transactions;
  they go through the transaction queue (journalled, in order, dropped first when full).
- Clock-aligned values are read from the ports at every multiple of ClockAlignedDataInterval
  after midnight UTC with MeterValuesAlignedData: a port with a transaction queues them
  with its transactionId; other ports' values are sent only while online (latest only).
- Values are strings (errata); the register is never rebased (errata 3.78); temperature in
  "Celcius" as the errata tell a charge point to spell it.
This module stays importable by CPython (rules.py, the config check, takes MEASURANDS here).
"""
import time

# measurands the pile meters (firmware/charging: register, power, voltage, current, power
# factor, cabinet temperature); StopTxn* data: only the register (the bill holds no more)
MEASURANDS = ("Energy.Active.Import.Register", "Power.Active.Import", "Voltage", "Current.Import", "Power.Factor",
              "Temperature")
STOP_MEASURANDS = ("Energy.Active.Import.Register",)

_DEFAULT = "Energy.Active.Import.Register"


def _dec(v, div, places):
    """Integer v / div as a decimal string with `places` digits."""
    sign = "-" if v < 0 else ""
    v = -v if v < 0 else v
    return "%s%d.%0*d" % (sign, v // div, places, v % div)


def values(d, wanted):
    """[[measurand index, value string], ...] from a sample or port reading."""
    out = []
    for m in (wanted or _DEFAULT).split(","):
        m = m.strip()
        if m not in MEASURANDS:
            continue
        i = MEASURANDS.index(m)
        if i == 0:
            v = d.get("meter_wh")
            v = None if v is None else str(v)
        elif i == 1:
            v = d.get("w", d.get("p_w"))
            v = None if v is None else str(v)
        elif i == 2:
            v = d.get("v_dv")
            v = None if v is None else _dec(v, 10, 1)
        elif i == 3:
            v = d.get("i_ma")
            v = None if v is None else _dec(v, 1000, 3)
        elif i == 4:
            v = d.get("pf")
            v = None if v is None else _dec(v, 1000, 3)
        else:
            v = d.get("temp_dc")
            v = None if v is None else _dec(v, 10, 1)
        if v is not None:
            out.append([i, v])
    return out


def sv(v, ctx):
    """[measurand or its index in meter.MEASURANDS, value] -> a SampledValue (value a string, errata)."""
    m = v[0]
    if type(m) is int:
        m = MEASURANDS[m]
    d = {"value": v[1], "context": ctx, "measurand": m}
    u = _UNITS.get(m)
    if u:
        d["unit"] = u
    if m == "Energy.Active.Import.Register":
        d["location"] = "Outlet"
    return d


# units as the 1.6 UnitOfMeasure enum spells them; the errata keep "Celcius" for the CP
_UNITS = {"Energy.Active.Import.Register": "Wh", "Power.Active.Import": "W", "Voltage": "V", "Current.Import": "A",
          "Temperature": "Celcius"}


class Meter:
    def __init__(self, cp):
        self.cp = cp
        self.loose = {}  # port -> aligned values of a port without a transaction (sent when online)
        self.next_aligned = None  # unix second of the next clock-aligned reading
        self.sampled = 0
        self.aligned = 0

    def on_sample(self, ev):
        d = ev.data
        cp = self.cp
        sid = d.get("id")
        if not cp.cfg["charging"]["sample_s"] or sid not in cp.txq.tx or sid in cp.txq.xq:
            return
        v = values(d, cp.o["sampled_data"])
        if v and cp.txq.meter({"s": sid, "c": d["port"], "ts": ev.unix, "b": cp.ids.boot, "ms": ev.ms,
                               "x": "Sample.Periodic", "v": v}, cp.tx.open_sessions()):
            self.sampled += 1
            cp.wake.set()

    def due_ms(self):
        """ms until the next clock-aligned reading, None when off or the time is unknown."""
        iv = self.cp.o["aligned_s"]
        now = self.cp.station.bus.now()
        if not iv or now is None:
            self.next_aligned = None
            return None
        if self.next_aligned is None or self.next_aligned - now > iv:
            self.next_aligned = (now // 86400) * 86400 + ((now % 86400) // iv + 1) * iv
        return max(0, (self.next_aligned - now) * 1000)

    def tick(self):
        """Take the clock-aligned readings when due."""
        if self.due_ms() != 0:
            return
        cp = self.cp
        at = self.next_aligned
        self.next_aligned = None
        for port in range(1, cp.station.ports() + 1):
            try:
                info = cp.station.port(port)
            except Exception:  # noqa: BLE001  no pile
                return
            v = values(info, cp.o["aligned_data"])
            if not v:
                continue
            sid = info.get("id")
            if sid is not None and sid in cp.txq.tx and sid not in cp.txq.xq:
                if cp.txq.meter({"s": sid, "c": port, "ts": at, "b": cp.ids.boot, "ms": time.ticks_ms(),
                                 "x": "Sample.Clock", "v": v}, cp.tx.open_sessions()):
                    self.aligned += 1
            else:
                self.loose[port] = (at, v)
        cp.wake.set()

    def next_loose(self):
        """(port, payload) of a clock-aligned reading of a port without a transaction."""
        for port in sorted(self.loose):
            at, v = self.loose[port]
            from firmware.proto.ocpp import dt

            return port, {"connectorId": port, "meterValue": [
                {"timestamp": dt.iso(at), "sampledValue": [sv(x, "Sample.Clock") for x in v]}]}
        return None

    def loose_sent(self, port):
        self.loose.pop(port, None)
        self.aligned += 1
