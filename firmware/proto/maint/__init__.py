"""The maintenance protocol: a line protocol for field engineers, the factory line's jig and
the sim demo, on the spare UART of the maintenance header (docs/charging.md "Service port"),
and for the host tools on the REPL's console beside the prints (console.py). The back end
is not needed to run or inspect the pile. lines.py frames it, commands.py maps each command
onto the command interface (firmware/station.py). The app opens the streams (board layer)
and runs serve() under its supervisor.
"""


def server(station, bus):
    """A Server for one stream (subscribes to the bus at once: make it before the pile
    publishes its restore events)."""
    from firmware.proto.maint.commands import TABLE
    from firmware.proto.maint.lines import Server

    return Server(station, bus, TABLE)


def console_server(station):
    """The same commands on the console: marked lines only, framed replies, no events.
    The commands load with the first command (a host tool's), not at boot."""
    from firmware.proto.maint.console import ConsoleServer

    return ConsoleServer(station)
