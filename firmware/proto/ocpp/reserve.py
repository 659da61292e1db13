"""Reservations: ReserveNow and CancelReservation onto the pile's own reservations
(OCPP 1.6 5.13, 5.1, 3.13; docs/ocpp.md "Reservations").

The pile holds the port (Reserved, nobody else may start there, it expires by itself); this
module answers the CSMS and keeps the reservations on flash (/data/ocpp/resv.json: at most
one per port, [port, idTag, parentIdTag, expiry unix]) so that they survive a power cut: at
start each one not yet expired is given back to the pile with the time it has left. A port
that leaves Reserved (used, expired, cancelled) drops its entry.
Answers: Faulted / Unavailable for such a port, Occupied for a port with a session or another
reservation, Rejected for an unknown connector or an expiry already past; the same
reservationId replaces its reservation. Connector 0 (ReserveConnectorZeroSupported true):
the pile holds one port for the idTag, the highest-numbered Available one (it shows
Reserved; the StartTransaction there carries the reservationId), so the idTag always finds
a free port; when none is Available: Faulted if every port is, Unavailable if every port is
faulted or unavailable, else Occupied (OCTT TC_049, TC_050_1-3).
"""
import fsatomic
import log

_log = log.get("ocpp")


class Resv:
    def __init__(self, cp, path):
        self.cp = cp
        self.path = path
        try:
            d = fsatomic.read_json(path, {})
        except (fsatomic.Corrupt, OSError):
            d = {}
        self.held = d if isinstance(d, dict) else {}  # "reservationId" -> [port, tag, parent, expiry]
        self.pending = bool(self.held)  # not yet given back to the pile (after a reboot)

    def _save(self):
        try:
            fsatomic.write_json(self.path, self.held)
        except OSError as e:
            _log.warn("reservations not saved: %r", e)

    def restore(self):
        """Give the persisted reservations back to the pile once the time is known."""
        if not self.pending:
            return
        from firmware.station import Refused

        st = self.cp.station
        now = st.bus.now()
        if now is None:
            return
        self.pending = False
        for rid, (port, tag, parent, exp) in list(self.held.items()):
            try:
                if exp <= now:
                    raise ValueError("expired")
                st.reserve(port, tag, exp - now, int(rid), parent)
                _log.info("reservation %s on %d restored (%d s left)", rid, port, exp - now)
            except (Refused, ValueError) as e:  # a fault or a session since, or expired: dropped
                _log.info("reservation %s on %d dropped: %r", rid, port, e)
                del self.held[rid]
        self._save()

    def on_status(self, ev):
        """A port left Reserved: its reservation was used, expired or cancelled."""
        if not self.held or ev.data["status"] == "Reserved" or self.pending:
            return
        port = ev.data["port"]
        for rid, ent in list(self.held.items()):
            if ent[0] == port:
                _log.info("reservation %s on %d ended (%s)", rid, port, ev.data.get("cause"))
                del self.held[rid]
                self._save()

    def reserve(self, p):
        from firmware.station import Refused

        st = self.cp.station
        c, rid = p["connectorId"], p["reservationId"]
        if c == 0:
            c = self._any_port(rid)
            if type(c) is str:
                return c
        if type(c) is not int or not 1 <= c <= st.ports():
            return "Rejected"
        from firmware.proto.ocpp import dt

        now = st.bus.now()
        exp = dt.unix(p["expiryDate"])
        if now is None or exp is None or exp <= now:
            return "Rejected"
        info = st.port(c)
        s = info["status"]
        if s == "Faulted":
            return "Faulted"
        if s == "Unavailable":
            return "Unavailable"
        if info.get("id") is not None or (s == "Reserved" and info.get("reservation") != rid):
            return "Occupied"
        for k, ent in list(self.held.items()):  # the same id elsewhere: moved here
            if int(k) == rid and ent[0] != c:
                st.cancel_reservation(ent[0])
                del self.held[k]
        try:
            st.reserve(c, p["idTag"], exp - now, rid, p.get("parentIdTag"))
        except Refused as e:
            code = e.args[0]
            return "Faulted" if code == "port_faulted" else "Unavailable" if code == "unavailable" else "Occupied"
        self.held["%d" % rid] = [c, p["idTag"], p.get("parentIdTag"), exp]
        self._save()
        _log.info("reservation %d on %d for %d s", rid, c, exp - now)
        return "Accepted"

    def _any_port(self, rid):
        """The port a connector-0 reservation holds, or the answer when there is none."""
        st = self.cp.station
        ent = self.held.get("%d" % rid)
        if ent is not None:
            return ent[0]  # the same reservation again: the same port
        sts = []
        for n in range(st.ports(), 0, -1):
            info = st.port(n)
            if info["status"] == "Available" and info.get("id") is None:
                return n
            sts.append(info["status"])
        if all(s == "Faulted" for s in sts):
            return "Faulted"
        if all(s in ("Faulted", "Unavailable") for s in sts):
            return "Unavailable"
        return "Occupied"

    def cancel(self, p):
        ent = self.held.get("%d" % p["reservationId"])
        if ent is None:
            return "Rejected"
        self.cp.station.cancel_reservation(ent[0])
        self.held.pop("%d" % p["reservationId"], None)
        self._save()
        return "Accepted"


def reserve_now(cp, p):
    return {"status": cp.resv.reserve(p)}


def cancel_reservation(cp, p):
    return {"status": cp.resv.cancel(p)}
