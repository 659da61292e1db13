"""DNY (AP3000): the binary protocol of China's e-bike pile back ends, beside OCPP behind the
same command interface (firmware/station.py); docs/dny.md.

frame.py frames and parses; link.py is the TCP connection with the 4G module's habits;
session.py connects and answers the server, schedule.py keeps the sheet's timing; status.py (register, heartbeats, host
frames, alarms), charge.py (0x82, 0x8A, 0x06, cards), params.py (0x83-0x85, 0x90-0x92, 0x34),
settle.py (0x03 from the bill journal) and inband.py (the in-band update into the OTA
engine's push sink) are the command families; ident.py says who the pile is, rules.py checks
the `dny` config section. This file stays light: the config validator imports rules.py
through it, on the device and under CPython.
"""


def client(station, bus):
    """The client for the pile behind `station` (subscribes to the bus at once: make it
    before the pile publishes its restore events); its run(beat) is the supervised task."""
    from firmware.proto.dny.session import Client

    return Client(station, bus)
