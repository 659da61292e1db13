"""Charging on the running sim chip, driven through its service port: the app boots from
flash with the meters' peer on UART 2 and the service cable on UART 1 (2-port board with
GPIO relays, so the harness sees the relay pins themselves). One bike charges until full,
one until its prepaid budget is used; both stop with the right reason, the bills come out
of the `bills` command, and the relay pins go low."""
import json
import re

from simkit import wait_until
from upile.sim import demo_charging, flashimg
from upile.sim.board import SimBoard
from upile.sim.peers.meter import MeterPeer
from upile.sim.peers.service import ServicePeer

PINS_2P = {"relay": (25, 26), "relay_fb": (34, 35), "meter_uart": 2, "meter_tx": 17, "meter_rx": 16,
           "meter_mux": (27,), "temp_adc": (36,), "front_i2c": (22, 21), "coin": 32}
CONFIG = {
    "pile": {"ports": 2},
    "charging": {"board": "esp32-2p", "full_pct": 50, "full_s": 10, "full_min_s": 5, "float_s": 2},
    "tariff": {"mode": "time", "unit_fen": 100, "unit_min": 1},
    "service": {"uart": 1, "baud": 115200, "tx": 4, "rx": 5},
    "modem": {"enabled": False},
    "net": {"order": "wifi"},
}


def kv(line):
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


def pin_history(board, pin):
    return [d[1] for _, kind, d in board.events if kind == "pin" and d[0] == pin]


def test_full_and_budget_stops_through_the_service_port(tmp_path):
    assert demo_charging.board_pins("esp32-2p") == PINS_2P  # the firmware's own pin map
    with SimBoard(tmp_path / "b") as b:
        files = flashimg.app_files()
        files["/config/pile.json"] = json.dumps(CONFIG).encode()
        b.install_files(files)
        meter, svc = MeterPeer(PINS_2P, n=2), ServicePeer()
        b.attach_uart(2, meter)
        b.attach_uart(1, svc)
        b.power_on()
        b.wait_console(r"maint: port on UART1 at 115200 baud", timeout=30)
        assert svc.opened.wait(10)  # the open record travels apart from the console line
        assert svc.opens[-1] == (115200, 8, None, 1)

        # a technician's typos on the real UART get err replies and the port keeps answering
        assert svc.command(b"\xff\x00garbage\r\n") == ["err bad_line not printable ASCII"]
        assert svc.command("start 1 money") == [
            "err bad_args usage: start <port> <time|energy|money|full> <amount> [tag]"]
        assert svc.command("x" * 300) == ["err too_long max 128 bytes"]
        assert svc.command("stop 2") == ["err no_session stop"]
        assert svc.ok("status").endswith("ports=2 idle=1 1=Available 2=Available")

        meter.command("plug 1 300 1 0.5")  # small battery, half full: full in ~15 s
        meter.command("plug 2 250 600 0.2")  # big battery: the 10 fen budget runs out first
        sid1 = kv(svc.ok("start 1 money 100 app-1"))["id"]
        sid2 = kv(svc.ok("start 2 money 10 app-2"))["id"]
        svc.wait_event(r"^status 1 Charging prev=Preparing cause=load", timeout=10)
        svc.wait_event(r"^status 2 Charging prev=Preparing cause=load", timeout=10)
        assert b.pin(25) == 1 and b.pin(26) == 1
        info = kv(svc.ok("info 2"))
        assert info["status"] == "Charging" and info["id"] == sid2 and 200 <= int(info["p_w"]) <= 260

        bills = {}
        for port in (1, 2):
            m = svc.wait_event(r"^bill %d (.*)" % port, timeout=40)
            bills[port] = kv(m.group(1))
        full, budget = bills[1], bills[2]
        assert (full["id"], full["reason"], full["cause"]) == (sid1, "Other", "full")
        assert (budget["id"], budget["reason"], budget["cause"]) == (sid2, "Other", "budget")
        assert budget["fen"] == "10" and budget["refund"] == "0"
        assert int(full["fen"]) > 0 and int(full["fen"]) + int(full["refund"]) == 100 and int(full["refund"]) > 0
        for port, bill in bills.items():  # billed energy: what the meter measured, never more
            truth_mwh = meter.plant.ports[port - 1].energy_wh * 1000
            assert 0.8 * truth_mwh <= int(bill["mwh"]) <= truth_mwh + 1, (bill, truth_mwh)
        assert meter.plant.ports[0].bike.full()
        assert "SuspendedEV prev=Charging cause=full" in " ".join(svc.events)  # trickle before the stop

        # the relay pins the harness sees went back low, after having been high
        assert b.pin(25) == 0 and b.pin(26) == 0
        for pin in (25, 26):
            h = pin_history(b, pin)
            assert 1 in h and h[-1] == 0, (pin, h)
        assert not any(p.contact() for p in meter.plant.ports)

        listed = svc.command("bills")
        assert listed[0] == "ok bills more=2"
        assert sorted(kv(l)["id"] for l in listed[1:]) == sorted([sid1, sid2])
        for sid in (sid1, sid2):
            assert svc.ok("ack " + sid) == "acked id=" + sid
        assert svc.command("bills") == ["ok bills more=0"]
        # Finishing lasts until the port's next control step (100 ms): poll, as a backend would
        wait_until(lambda: re.search(r"idle=1 1=Available 2=Available$", svc.ok("status")), 10, "ports idle")
        assert "Traceback" not in b.console_text()
        # the firmware read its meter and service UARTs before their rxbuf (+ FIFO) overflowed
        assert not [e for e in b.events if e[1] == "uart_overflow"]
