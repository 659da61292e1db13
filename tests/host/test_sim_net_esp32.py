"""The sim chip's network gate and esp32 module: sockets fail while no link is up and work
once the harness's access point lets WLAN connect; image partitions follow the
bootloader's OTA states (NEW -> PENDING_VERIFY -> VALID, or ABORTED and rolled back); NVS
keeps only committed values."""
import socket

from simkit import board

WLAN_UP = """
import network, time
w = network.WLAN(network.WLAN.IF_STA)
w.active(True)
w.connect('%s', '%s')
for _ in range(100):
    if w.status() != network.STAT_CONNECTING:
        break
    time.sleep_ms(20)
print(w.status(), w.isconnected())
"""

CONNECT = """
import socket
try:
    s = socket.socket()
    s.connect(socket.getaddrinfo('127.0.0.1', %d)[0][-1])
    s.send(b'hi')
    s.close()
    print('connected')
except OSError as e:
    print('refused', e.errno)
"""


def _server():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    return srv


def test_sockets_fail_until_wifi_is_up_then_fail_again_when_the_ap_drops():
    srv = _server()
    port = srv.getsockname()[1]
    try:
        with board() as b:
            assert b.exec(CONNECT % port).strip() == "refused 113"
            b.net.add_ap("depot", "secret", rssi=-58)
            assert b.exec(WLAN_UP % ("depot", "wrong")).strip() == "202 False"
            assert b.exec(WLAN_UP % ("nowhere", "x")).strip() == "201 False"
            assert b.exec(WLAN_UP % ("depot", "secret")).strip() == "1010 True"
            assert b.exec("print(w.status('rssi'), w.ipconfig('addr4')[0])").strip() == "-58 192.168.4.105"
            assert b.exec(CONNECT % port).strip() == "connected"
            assert srv.accept()[0].recv(2) == b"hi"
            b.net.drop("depot")
            b.wait_event("link", lambda d: d == ("wlan", "down"))
            out = b.exec("print(w.isconnected(), w.status())\n" + CONNECT % port)
            assert out.split() == ["False", "1001", "refused", "113"]
            b.net.restore("depot")
            b.wait_event("link", lambda d: d == ("wlan", "up"), since=b.events[-1][0])
            assert b.exec(CONNECT % port).strip() == "connected"
    finally:
        srv.close()


def test_ppp_is_up_only_while_the_modem_is_in_data_mode():
    from upile.sim.peers.loopback import LoopbackPeer

    modem = LoopbackPeer()
    modem.data_mode = False
    with board() as b:
        b.attach_uart(2, modem)
        b.exec("import machine, network, time\nu = machine.UART(2, 115200, tx=17, rx=16, rxbuf=1024)\n"
               "p = network.PPP(u)\np.active(True)\np.connect()")
        assert b.exec("time.sleep_ms(400)\nprint(p.isconnected())").strip() == "False"
        modem.data_mode = True
        b.wait_event("link", lambda d: d == ("ppp", "up"))
        assert b.exec("print(p.isconnected(), p.ipconfig('addr4')[0])").strip() == "True 10.64.0.2"
        modem.data_mode = False
        b.wait_event("link", lambda d: d == ("ppp", "down"))
        assert b.exec("print(p.isconnected())").strip() == "False"


IMAGE = """
import esp32
run = esp32.Partition(esp32.Partition.RUNNING)
nxt = run.get_next_update()
buf = bytearray(4096)
buf[0] = %d
nxt.writeblocks(0, buf)
try:
    nxt.set_boot()
    print('set_boot', nxt.info()[4])
except OSError as e:
    print('rejected', e.errno)
"""

RUNNING = "import esp32\nprint(esp32.Partition(esp32.Partition.RUNNING).info()[4])"


def _hard_reset(b):
    mark = b.console_mark()
    b.reset()
    b.wait_console("main.py running", since=mark)


def test_image_partition_rolls_back_unless_marked_valid():
    with board() as b:
        assert b.exec(RUNNING).strip() == "ota_0"
        assert b.exec(IMAGE % 0).strip() == "rejected -5379"
        assert b.exec(IMAGE % 0xE9).strip() == "set_boot ota_1"
        _hard_reset(b)
        assert b.exec(RUNNING).strip() == "ota_1"  # PENDING_VERIFY
        _hard_reset(b)                              # not confirmed: the bootloader rolls back
        assert b.exec(RUNNING).strip() == "ota_0"
        assert [e[2] for e in b.events if e[1] == "bootloader"] == ["rollback ota_1 -> ota_0"]
        assert b.exec(IMAGE % 0xE9).strip() == "set_boot ota_1"
        _hard_reset(b)
        b.exec("import esp32\nesp32.Partition.mark_app_valid_cancel_rollback()")
        _hard_reset(b)
        assert b.exec(RUNNING).strip() == "ota_1"
        # a soft reset never goes through the bootloader
        assert b.exec("print(esp32.Partition(esp32.Partition.BOOT).info()[4])").strip() == "ota_1"


def test_nvs_keeps_only_committed_values_across_power_cuts():
    with board() as b:
        b.exec("import esp32\nn = esp32.NVS('upile')\nn.set_i32('boots', 7)\nn.set_blob('k', b'xyz')\nn.commit()\n"
               "n.set_i32('boots', 8)")
        b.power_cut()
        b.power_on()
        b.wait_console("main.py running")
        out = b.exec("import esp32\nn = esp32.NVS('upile')\nbuf = bytearray(8)\nk = n.get_blob('k', buf)\n"
                     "print(n.get_i32('boots'), buf[:k])\n"
                     "try:\n    n.get_i32('nope')\nexcept OSError as e:\n    print(e.errno)")
        assert out.split("\n")[:2] == ["7 bytearray(b'xyz')", "-4354"]
