"""Composition root: builds the pile from a board and config and runs it in asyncio.

Each domain (charging, net, ota, ocpp) adds its own start-up here; nothing else wires.
"""
import asyncio
import os
import sys

from firmware.version import VERSION


def describe_fs():
    try:
        st = os.statvfs("/")
        return "fs %d KiB free of %d KiB" % (st[0] * st[3] // 1024, st[0] * st[2] // 1024)
    except OSError:
        return "fs unknown"


def start_net(cfg, on_event=None):
    """Connectivity (owner: net): Wi-Fi first, cellular fallback, network time, data budget."""
    from firmware.net import service

    try:
        return service.start(cfg, on_event=on_event)
    except (ValueError, OSError) as e:  # bad net config or no radio: the pile still charges
        print("net: not started:", e)
        return None


def start_ota(cfg, idle=None, on_event=None, on_healthy=None, net=None):
    """OTA (owner: OTA): periodic/commanded checks, installs when idle, trial health;
    `ota status|check` on the service port. With `net` (owner: net): the data budget may
    defer downloads on cellular, net/otahooks.py re-checks on Wi-Fi and counts the bytes."""
    from firmware import ota
    from firmware.ota import command

    hooks = None
    if net is not None:
        from firmware.net.otahooks import OtaHooks

        hooks = OtaHooks(net, on_event)
    svc = ota.start(cfg, idle=idle, on_event=hooks.event if hooks else on_event, on_healthy=on_healthy,
                    net_ok=net.budget.allow_update if net is not None else None)
    if hooks:
        hooks.attach(svc)
    command.register()
    return svc


def start_charging(cfg, on_event=None):
    """Charging (owner: charging): ports board from the pin map, pile restored from its
    journal (relays open first), control loop as a task. None if the hardware is missing."""
    try:
        import fsatomic
        from firmware.board import pins, ports
        from firmware.charging.pile import Pile

        path = cfg["charging"]["journal"]
        fsatomic.mkdirs(path[: path.rfind("/")] or "/")
        board = ports.Ports(cfg, pins.get(cfg["charging"]["board"]))
        pile = Pile(cfg, board, on_event=on_event)
    except (ImportError, ValueError, OSError) as e:  # no UART/machine, bad pin map: keep booting
        print("charging: not started:", e)
        return None
    pile.task = asyncio.create_task(pile.run())
    print("charging: %d ports, %d bills pending" % (board.n, len(pile.store.pending)))
    return pile


def start_service(cfg, pile, events):
    """Service port (maintenance header): status, start/stop, bills, pile events as lines."""
    from firmware import service

    try:
        return service.start(cfg, pile, events)
    except (ImportError, ValueError, OSError) as e:  # not wired or no UART: the pile still charges
        print("service: not started:", e)
        return None


async def run(cfg):
    from firmware.events import Hub

    print("uPile %s on %s: %s, %d ports" % (VERSION, sys.platform, describe_fs(), cfg["pile"]["ports"]))
    net = start_net(cfg)
    events = Hub()  # pile events to the service port (and later the backend protocol)
    pile = start_charging(cfg, on_event=events)
    from firmware import cfgguard

    start_ota(cfg, idle=pile.is_idle if pile else None, on_healthy=cfgguard.healthy, net=net)
    start_service(cfg, pile, events)
    cfgguard.started()  # the config got the app started: no failed start to count
    while True:
        await asyncio.sleep(3600)


def main():
    import fsatomic
    import log
    from firmware import cfgguard

    # what `upile logs` reads (bounded, survives reboots), before the config so that a
    # rejected one is on record there, even on a factory-fresh filesystem without /data
    fsatomic.mkdirs("/data/log")
    log.enable_ring()
    cfg = cfgguard.load()  # a bad /config/pile.json: last good copy or defaults, reported
    asyncio.run(run(cfg))
