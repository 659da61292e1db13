"""The sim board's modem Peer, and the firmware riding through a Wi-Fi outage on the sim board."""
import json
import tempfile
import time

from upile.sim import flashimg
from upile.sim.backend import probe_backend
from upile.sim.board import SimBoard
from upile.sim.peers.modem import ModemPeer


def pump(peer, t, until, step=0.005):
    out = b""
    while t < until:
        t += step
        out += peer.poll(t) or b""
    return t, out


def test_peer_speaks_at_with_echo_and_enters_data_mode():
    p = ModemPeer(ready_s=0.1, pwrkey_pin=4)
    p.on_power(True)
    t, boot = pump(p, 0.0, 0.5)
    assert b"RDY" in boot and b"+CPIN: READY" in boot
    p.on_rx(b"AT\r")
    t, out = pump(p, t, t + 0.05)
    assert out == b"AT\r\r\nOK\r\n"  # echo is on after reset
    p.on_rx(b"ATE0\rAT+CSQ\r")
    t, out = pump(p, t, t + 0.05)
    assert out.endswith(b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
    p.on_rx(b'AT+CGDCONT=1,"IP","cmnet"\rATD*99#\r')
    t, out = pump(p, t, t + 0.05)
    assert out.endswith(b"CONNECT 150000000\r\n") and p.data_mode
    p.fault("drop_carrier")
    t, out = pump(p, t, t + 0.05)
    assert out == b"\r\nNO CARRIER\r\n" and not p.data_mode
    assert [up for _, up in p.links] == [True, False]


def test_peer_faults_no_sim_denied_and_silent_until_pwrkey():
    p = ModemPeer(ready_s=0.1, sim="absent", pwrkey_pin=4)
    p.on_power(True)
    t, boot = pump(p, 0.0, 0.5)
    assert b"+CPIN: NOT INSERTED" in boot
    p.on_rx(b"ATE0\rAT+CMEE=1\rAT+CPIN?\r")
    t, out = pump(p, t, t + 0.05)
    assert out.endswith(b"+CME ERROR: 10\r\n")
    p.set(sim="ready", reg="denied")
    p.on_rx(b"AT+CEREG?\r")
    t, out = pump(p, t, t + 0.05)
    assert b"+CEREG: 0,3" in out
    p.fault("silent")
    p.on_rx(b"AT\r")
    t, out = pump(p, t, t + 0.5)
    assert out == b""
    # a short press does nothing to a running module; a long one switches it off
    p.on_pin(4, 1)
    t, _ = pump(p, t, t + 0.1)
    p.on_pin(4, 0)
    assert p.emu.power == "on"
    p.on_pin(4, 1)
    t, _ = pump(p, t, t + 1.2)
    p.on_pin(4, 0)
    t, out = pump(p, t, t + 0.05)
    assert b"POWERED DOWN" in out and p.emu.power == "off"
    p.on_pin(4, 1)
    t, _ = pump(p, t, t + 0.6)  # Quectel: on >= 0.5 s
    p.on_pin(4, 0)
    t, boot = pump(p, t, t + 0.5)
    assert b"RDY" in boot
    p.on_rx(b"AT\r")
    t, out = pump(p, t, t + 0.05)
    assert out.endswith(b"OK\r\n") and p.emu.boots == 2
    try:
        p.set(nonsense=1)
        raise AssertionError("accepted an unknown setting")
    except AttributeError:
        pass


def test_peer_pwrkey_per_vendor_s8_register_and_answers_in_order():
    for vendor, on_s, off_s in (("quectel", 0.5, 0.65), ("simcom", 0.05, 2.5), ("luat", 1.2, 2.5)):
        p = ModemPeer(vendor=vendor, ready_s=0.1, pwrkey_pin=4, auto_on=False)
        t = 0.0
        p.on_pin(4, 1)
        t, _ = pump(p, t, t + on_s * 0.8)
        p.on_pin(4, 0)
        assert p.emu.power == "off", vendor  # too short to switch on
        p.on_pin(4, 1)
        t, _ = pump(p, t, t + on_s + 0.01)
        p.on_pin(4, 0)
        t, _ = pump(p, t, t + 0.5)
        assert p.emu.power == "on", vendor
        p.on_pin(4, 1)  # a press shorter than the off press does nothing to a running module
        t, _ = pump(p, t, t + off_s * 0.9)
        p.on_pin(4, 0)
        assert p.emu.power == "on", vendor
        p.on_pin(4, 1)
        t, _ = pump(p, t, t + off_s + 0.01)
        p.on_pin(4, 0)
        assert p.emu.power == "off", vendor
    # S8 reads back what was set; a slow command's answer still leaves before the next one's
    p = ModemPeer(ready_s=0.1, pwrkey_pin=4, slow={"AT+CGMR": 0.3})
    p.on_power(True)
    t, _ = pump(p, 0.0, 0.5)
    p.on_rx(b"ATE0\rATS8?\rATS8=37\rATS8?\r")
    t, out = pump(p, t, t + 0.05)
    assert out.endswith(b"\r\n002\r\n\r\nOK\r\n\r\nOK\r\n\r\n037\r\n\r\nOK\r\n"), out
    p.on_rx(b"AT+CGMR\rAT+CSQ\r")
    t, out = pump(p, t, t + 0.1)
    assert out == b""
    t, out = pump(p, t, t + 0.3)
    assert out.index(b"EC200U") < out.index(b"+CSQ:"), out


def test_pile_rides_through_a_wifi_outage_on_cellular_and_comes_back():
    srv, accepted = probe_backend()
    cfg = {"wifi": {"networks": [{"ssid": "depot", "key": "secret-123"}]},
           "backend": {"host": "127.0.0.1", "port": srv.getsockname()[1]},
           "modem": {"apn": "cmnet"}, "net": {"ntp_host": "", "failback_ms": 4000}}
    with tempfile.TemporaryDirectory(prefix="upile-net-") as tmp:
        with SimBoard(tmp) as b:
            files = flashimg.app_files()
            files["/config/pile.json"] = json.dumps(cfg).encode()
            b.install_files(files)
            modem = ModemPeer(ready_s=1.0)
            b.attach_uart(1, modem)  # config modem.uart default
            b.net.add_ap("depot", "secret-123", rssi=-58)
            b.power_on()
            b.wait_console(r"link: up on wifi \(-58 dBm\)", timeout=30)
            deadline = time.monotonic() + 5  # the handshake completes before accept() returns
            while not accepted and time.monotonic() < deadline:
                time.sleep(0.02)
            assert accepted  # judged by the backend, not by association
            mark = b.console_mark()
            t_drop = time.monotonic()
            b.net.drop("depot")
            b.wait_console(r"link: up on cellular \(-73 dBm\)", timeout=30, since=mark)
            took = time.monotonic() - t_drop
            assert took < 20, took  # default settings; the bench prints the figure
            # the pile's connect completes in the kernel before the probe server's thread
            # records accept(): on a loaded machine the record can lag the console line
            deadline = time.monotonic() + 5
            while accepted[-1] <= t_drop and time.monotonic() < deadline:
                time.sleep(0.02)
            assert modem.data_mode and accepted[-1] > t_drop  # the backend answered over PPP
            state = modem.state()
            assert state["apn"] == "cmnet" and "ATD*99#" in state["commands"]
            # carrier lost while connected: redial without a power cycle
            mark = b.console_mark()
            modem.fault("drop_carrier")
            b.wait_console(r"link: up on cellular", timeout=30, since=mark)
            assert modem.state()["boots"] == 1
            # Wi-Fi back: stays on cellular until Wi-Fi was stable failback_ms, then hangs up
            mark = b.console_mark()
            b.net.restore("depot")
            t_back = time.monotonic()
            b.wait_console(r"link: up on wifi", timeout=60, since=mark)
            assert time.monotonic() - t_back >= 4.0
            deadline = time.monotonic() + 10
            while modem.state()["commands"][-1] != "ATH" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not modem.data_mode and modem.state()["commands"][-1] == "ATH"  # hung up
    srv.close()
