"""OCPP 1.6J charge point (docs/ocpp.md): WebSocket to a CSMS over verified TLS, security
profiles 1-3, the Core profile, a journalled transaction queue, e-bike budgets over
DataTransfer. It calls only firmware/station.py and listens on firmware/bus.py.

Modules: cp (state, tasks), conn (connection, profiles, reconnects), rpc (OCPP-J framing,
one CALL outstanding, CALLERRORs), validate + schemas (generated tables), ids (message ids),
boot, status, tx + txq (transactions, queue), meter, remote, confkeys, datatransfer, auth,
rules (config checks, CPython too), dt (date-times).
This file stays importable by CPython (config rules import rules.py through it).
"""


def start(cfg, station, bus, sup):
    """Build the charge point (it subscribes to the bus at once: call it before the pile
    publishes its restore events) and hand its tasks to the supervisor."""
    from firmware.proto.ocpp.cp import Cp

    cp = Cp(cfg, station, bus)
    sup.add("ocpp", cp.run_conn)
    sup.add("ocpp-events", cp.run_events, deadline_ms=180000)
    sup.add("ocpp-send", cp.run_sender)
    return cp
