"""One port's connector status (OCPP 1.6 ChargePointStatus) and what it holds.

Every status change goes through `set()`, which publishes one "port.status" event, so the
protocol layer sees each transition exactly once, with the OCPP error code of a fault.
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

# faults that clear by themselves when the cause is gone (after a debounce); the others are
# hardware that needs a person: clear_fault() by an operator or the back end
SELF_CLEARING = ("meter_silent", "pile_over_temperature")

# our fault causes -> OCPP 1.6 ChargePointErrorCode
_ERRORS = {"meter_silent": "PowerMeterFailure", "relay_welded": "PowerSwitchFailure",
           "relay_readback": "PowerSwitchFailure", "pile_over_temperature": "HighTemperature"}


def error_code(fault):
    if fault is None:
        return "NoError"
    return _ERRORS.get(fault, "OtherError")


class Port:
    def __init__(self, num, publish):
        self.num = num  # 1-based, as OCPP connectorId
        self._publish = publish
        self.status = AVAILABLE
        self.error = "NoError"  # OCPP ChargePointErrorCode last published
        self.session = None
        self.fault = None  # cause string while Faulted
        self.disabled = False  # Unavailable by command
        self.resv = None  # (tag, expire_ticks, plan or None, start_ticks, reservation id, parent tag)
        self.relay = False  # commanded state
        self.t_relay = 0  # ticks of the last relay change (weld check, energy baseline)
        self.mismatch_ms = 0
        self.seq = -1  # last meter reading seen
        self.t_read = 0
        self.ok_since = None  # ticks since readings flow again (meter_silent clears after fault_clear_s)
        self.p_w = 0
        self.i_ma = 0
        self.v_dv = 0
        self.pf = None  # power factor in thousandths, when the reading allows
        self.e_last = None  # meter energy at the last reading (mWh); None: no baseline yet
        self.t_e = 0  # ticks of that reading
        self.reg_mwh = 0  # this port's energy register: every mWh metered, ever (persisted)
        self.weld_n = -1  # readings in a row with energy through the open relay (-1: no base yet)
        self.order = 0  # admission order, for shedding newest first
        self.shed_w = 0
        self.limit_w = None  # port power limit (station/back end); None: none

    def set(self, status, cause=None):
        """Publish a transition (or, while Faulted, a change of the fault's error code)."""
        err = error_code(self.fault) if status == FAULTED else "NoError"
        if status == self.status and err == self.error:
            return
        prev = self.status
        self.status = status
        self.error = err
        self._publish("port.status", {"port": self.num, "status": status, "prev": prev, "cause": cause,
                                      "error": err})

    def idle_status(self):
        """Where the port rests without a session."""
        if self.fault:
            return FAULTED
        if self.disabled:
            return UNAVAILABLE
        if self.resv:
            return RESERVED
        return AVAILABLE
