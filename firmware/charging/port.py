"""One port's connector status (OCPP 1.6 ChargePointStatus) and what it holds.

Every status change goes through `set()`, which emits a ("status", port, detail) event,
so the protocol layer sees each transition exactly once.
"""
AVAILABLE = "Available"
PREPARING = "Preparing"
CHARGING = "Charging"
SUSPENDED_EV = "SuspendedEV"
SUSPENDED_EVSE = "SuspendedEVSE"
FINISHING = "Finishing"
RESERVED = "Reserved"
UNAVAILABLE = "Unavailable"
FAULTED = "Faulted"

RELAY_ON = (PREPARING, CHARGING, SUSPENDED_EV)

# faults that clear by themselves when the condition goes away; others need clear_fault()
SELF_CLEARING = ("meter_silent", "pile_over_temperature")


class Port:
    def __init__(self, num, emit):
        self.num = num  # 1-based, as OCPP connectorId
        self._emit = emit
        self.status = AVAILABLE
        self.session = None
        self.fault = None  # cause string while Faulted
        self.disabled = False  # Unavailable by command
        self.resv = None  # (tag, expire_ticks, plan or None, start_ticks)
        self.relay = False  # commanded state
        self.mismatch_ms = 0
        self.seq = -1  # last meter reading seen
        self.t_read = 0
        self.p_w = 0
        self.i_ma = 0
        self.v_dv = 0
        self.e_last = None
        self.order = 0  # admission order, for shedding newest first
        self.shed_w = 0

    def set(self, status, cause=None):
        if status == self.status:
            return
        prev = self.status
        self.status = status
        self._emit("status", self.num, {"status": status, "prev": prev, "cause": cause})

    def idle_status(self):
        """Where the port rests without a session."""
        if self.fault:
            return FAULTED
        if self.disabled:
            return UNAVAILABLE
        if self.resv:
            return RESERVED
        return AVAILABLE
