"""Composition root: builds the pile from a board and config and runs it in asyncio.

The only module that knows every part. Order matters: the bus and the command interface
first, then every subscriber (protocols), then the domains (the pile publishes what it
restored after a power cut), then the supervisor runs every long-running task. A part that
cannot start (no radio, a board without a maintenance header) is logged persistently and
left out; the pile still charges.
"""
import asyncio
import os
import sys

import log
from firmware.version import VERSION

_log = log.get("app")


def describe_fs():
    try:
        st = os.statvfs("/")
        return "fs %d KiB free of %d KiB" % (st[0] * st[3] // 1024, st[0] * st[2] // 1024)
    except OSError:
        return "fs unknown"


def _failed(what, e):
    """A part that could not start: persistent log with the traceback, the pile goes on."""
    _log.exc("%s: not started" % what, e)


def start_net(cfg, bus, sup):
    """Connectivity (owner: net): Wi-Fi first, cellular fallback, network time, data budget.
    Link and time events go on the bus; the link manager and NTP run supervised."""
    from firmware.net import service

    try:
        net = service.Net(cfg, bus)
    except (ValueError, OSError, ImportError) as e:  # no radio on this board: the pile still charges
        _failed("net", e)
        return None
    bus.wall = net.time.now
    # one round of the link manager can be a whole modem bring-up (minutes, docs/net.md)
    sup.add("link", net.links.run, deadline_ms=600000)
    if cfg["net"]["ntp_host"]:
        sup.add("ntp", net.ntp_loop)
    return net


def start_charging(cfg, bus, sup):
    """Charging (owner: charging): ports board from the pin map, pile restored from its
    journal (relays open first), control loop supervised (it must step every few periods)."""
    try:
        import fsatomic
        from firmware.board import pins, ports
        from firmware.charging.pile import Pile

        path = cfg["charging"]["journal"]
        fsatomic.mkdirs(path[: path.rfind("/")] or "/")
        board = ports.Ports(cfg, pins.get(cfg["charging"]["board"]))
        pile = Pile(cfg, board, bus=bus)
    except (ImportError, ValueError, OSError) as e:  # no UART/machine, bad pin map: keep booting
        _failed("charging", e)
        return None
    sup.add("charging", pile.run, deadline_ms=max(10000, 20 * cfg["charging"]["period_ms"]))
    print("charging: %d ports, %d bills pending" % (board.n, len(pile.store.pending)))
    return pile


def start_ota(cfg, station, bus, sup, net):
    """OTA (owner: OTA): periodic/commanded checks, installs when idle. Its events go on the
    bus as ota.<Status>; with `net`, the data budget may defer downloads on cellular and
    net/otahooks.py counts the bytes and re-checks when Wi-Fi comes back."""
    from firmware import ota

    def on_event(kind, detail):
        bus.publish("ota." + kind, detail)

    try:
        svc = ota.start(cfg, idle=station.is_idle, on_event=on_event,
                        net_ok=net.budget.allow_update if net is not None else None, spawn=False)
    except (ValueError, OSError, ImportError) as e:
        _failed("ota", e)
        return None
    sup.add("ota", lambda beat: svc.loop())
    if net is not None:
        from firmware.net import otahooks

        sub = bus.subscribe("ota.", "link.up")
        sup.add("ota-net", lambda beat: otahooks.run(sub, net, svc))
    return svc


def start_maint(cfg, station, bus, sup):
    """The maintenance port (docs/charging.md "Service port") on the header's UART."""
    sc = cfg["service"]
    if not sc["enabled"]:
        return None
    if sc["tx"] < 0 or sc["rx"] < 0:  # no maintenance header on this board: nothing to open
        print("maint: not wired (service.tx/rx unset)")
        return None
    try:
        from firmware.board import serviceport
        from firmware.proto import maint

        stream = serviceport.open_stream(sc)
        srv = maint.server(station, bus)
    except (ImportError, ValueError, OSError) as e:
        _failed("maint", e)
        return None
    sup.add("maint", lambda beat: srv.serve(stream))
    print("maint: port on UART%d at %d baud" % (sc["uart"], sc["baud"]))
    return srv


def start_ocpp(cfg, station, bus, sup):
    """OCPP 1.6J to a CSMS (docs/ocpp.md) when backend.protocol is ocpp; before the pile, so it
    sees the sessions the pile restores after a power cut."""
    if cfg["backend"]["protocol"] != "ocpp":
        return None
    try:
        from firmware.proto import ocpp

        cp = ocpp.start(cfg, station, bus, sup)
    except (ImportError, ValueError, OSError, KeyError) as e:
        _failed("ocpp", e)
        return None
    from firmware import diag

    diag.register("ocpp", cp.info)
    print("ocpp: charge point %s -> CSMS (security profile %d)" % (cp.id, cp.conn.profile))
    return cp


def start_console(station, sup):
    """The same maintenance commands on the REPL's console (docs/charging.md "Console
    channel"): `upile status` and `upile logs` read the running pile there instead of
    stopping it with a Ctrl-C. Marked lines only, so the prints and the REPL are untouched."""
    try:
        from firmware.board import console
        from firmware.proto import maint

        stream = console.open_stream()
        srv = maint.console_server(station)
    except (ImportError, ValueError, OSError, TypeError) as e:  # a stdin poll cannot watch: the pile still charges
        _failed("console", e)
        return None
    sup.add("console", lambda beat: srv.serve(stream))
    return srv


def start_front(cfg, station, bus):
    """The pile's front (owner: front; docs/front.md): the board opens its hardware (I2C bus,
    UART bridge, panel, coin counter), firmware/front builds on it. Built before charging so
    its subscriptions see the pile's restore; its tasks start after (Front.start)."""
    if not cfg["front"]["enabled"]:
        return None
    try:
        import fsatomic
        from firmware.board import front as hwfront, pins
        from firmware.front.core import Front

        from firmware.front.core import ROOT

        fsatomic.mkdirs(ROOT)
        hw = hwfront.open_hw(cfg, pins.get(cfg["charging"]["board"]))
        front = Front(cfg, station, bus, hw)
    except (ImportError, ValueError, OSError) as e:
        _failed("front", e)
        return None
    for what, why in hw.missing:
        _log.error("front: %s did not answer: %s", what, why)
    print("front: card %s, voice %s, panel %s, coins %s, alarms %s" % tuple(
        "on" if x is not None else "off" for x in (front.cards, front.voice, front.display, front.coins, front.alarms)))
    return front


def start_loadcheck(cfg, station, bus):
    """Malicious-load detection (docs/front.md): needs no front hardware, only the station."""
    if cfg["front"]["loadcheck"] == "off":
        return None
    from firmware.front.loadcheck import LoadCheck

    return LoadCheck(cfg, station, bus)


def start_backend(cfg, station, bus, sup):
    """The back end's protocol (config backend.protocol) as a supervised task; DNY here."""
    if cfg["backend"]["protocol"] != "dny":
        return None
    try:
        from firmware.proto import dny

        cli = dny.client(station, bus)
    except (ImportError, ValueError, OSError) as e:
        _failed("dny", e)
        return None
    # beats every round of its schedule (100 ms), every second of a reconnect backoff, and
    # around each connect (which may take connect_timeout_ms)
    sup.add("dny", cli.run, deadline_ms=max(120000, 2 * cfg["dny"]["connect_timeout_ms"]))
    print("dny: back end %s:%d, physical id %08x" % (cfg["backend"]["host"], cfg["backend"]["port"], cli.phys))
    return cli


def _health(cfg, sup, station, ota_svc):
    """The rule that confirms a trial boot (and keeps the config as the last good one)."""
    from firmware import cfgguard, health

    url = cfg["ota"]["url"]
    if cfg["backend"]["protocol"] != "none":  # a back end is configured: reaching it is the proof
        reached = lambda: station.backend_ok or (ota_svc is not None and ota_svc.server_ok)  # noqa: E731
    elif ota_svc is not None and url:
        reached = lambda: station.backend_ok or ota_svc.server_ok  # noqa: E731 (no back end yet: the update server)
    else:
        reached = None
    h = health.Health(sup, cfg["ota"], reached, on_healthy=cfgguard.healthy)
    sup.add("health", h.run)
    return h


def _safe(station):
    def safe(reason):
        p = station.pile
        if p is not None:
            p.board.all_off()
            p.stop_all("Other", "supervisor")
    return safe


async def run(cfg):
    from firmware.board import system
    from firmware.bus import Bus
    from firmware.station import Station
    from firmware.supervisor import Supervisor
    from firmware import diag

    print("uPile %s on %s: %s, %d ports" % (VERSION, sys.platform, describe_fs(), cfg["pile"]["ports"]))
    bus = Bus()
    station = Station(cfg, bus)
    sc = cfg["supervisor"]
    sup = Supervisor(feed=system.feed_watchdog, safe=_safe(station), reboot=_reboot, max_crashes=sc["max_crashes"],
                     window_ms=sc["crash_window_s"] * 1000, backoff_ms=sc["backoff_ms"],
                     backoff_max_ms=sc["backoff_max_ms"])
    station._reset = _restart(station)
    start_maint(cfg, station, bus, sup)  # subscribers first: they see the pile's restore events
    start_console(station, sup)
    front = start_front(cfg, station, bus)
    load = start_loadcheck(cfg, station, bus)
    start_backend(cfg, station, bus, sup)
    start_ocpp(cfg, station, bus, sup)
    net = start_net(cfg, bus, sup)
    pile = start_charging(cfg, bus, sup)
    station.attach(pile=pile, net=net, front=front)
    if front is not None:
        front.start(sup)
        diag.register("front", front.status)
    if load is not None:
        sup.add("loadcheck", load.run)
    ota_svc = start_ota(cfg, station, bus, sup, net)
    station.attach(ota=ota_svc)
    _health(cfg, sup, station, ota_svc)
    diag.register("station", station.status)
    diag.register("tasks", sup.status)
    if pile is not None:
        diag.register("ports", lambda: [pile.info(i + 1) for i in range(len(pile.ports))])
        diag.register("bills", lambda: {"pending": station.bills_pending()})
    if net is not None:
        diag.register("net", net.status)
    sup.start()
    from firmware import cfgguard

    cfgguard.started()  # the config got the app started: no failed start to count
    while True:
        await asyncio.sleep(3600)


def _reboot(reason):
    """The supervisor gave up: a crash loop is a failed trial when one runs."""
    from firmware.board import system

    system.reset_unhealthy(reason)


def _restart(station):
    def restart(hard, reason):
        from firmware.board import system

        if not hard:  # soft: sessions end with their reason first (OCPP SoftReset)
            station.stop_all("SoftReset", reason)
        else:
            station.stop_all("HardReset", reason)
        log.flush()
        system.reset(reason)  # on purpose: recorded, never counted against a trial
    return restart


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
