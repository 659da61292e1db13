"""The modem driver that ships (firmware/net/modem.py over firmware/board/radio.py) against the
4G module emulator on the sim board's UART1 at 115200 baud: what real modules do that a naive
driver gets wrong. Each scenario builds a Modem on the chip through the raw REPL and reads
its status back; the emulator's side is read from the peer."""
# long: 165 s (started first by tests/conftest.py, so it is not the suite's tail)
import json
import time

from simkit import board
from upile.sim import flashimg
from upile.sim.peers.modem import ModemPeer

SETUP = """
import asyncio, json
from firmware import config
from firmware.board.radio import Radio
from firmware.net.modem import Modem
from firmware.net.timesync import TimeSync
BASE = config.defaults()["modem"]
# answers get seconds, not milliseconds: with the machine loaded (a second `make test` beside
# this one) a harness that answers in 0.3 s on an idle machine can take over 1 s
BASE.update(apn="cmnet", cmd_timeout_ms=6000, sync_ms=2000, unanswered_max=3, reg_timeout_ms=3000, reg_poll_ms=300,
            dial_timeout_ms=6000, ppp_timeout_ms=8000, sim_wait_ms=1000, hard_retries=2,
            hard_backoff_ms=600000, ready_ms=8000)
RADIO = Radio(BASE)

def scenario(n, **kw):
    c = dict(BASE)
    c.update(kw)
    ts = TimeSync()
    m = Modem(RADIO, c, ts)
    async def go():
        ups = []
        for i in range(n):
            ups.append(await m.up())
            if ups[-1]:
                await m.down()
        await m.close()
        return ups
    ups = asyncio.run(go())
    st = m.status()
    st.update(ups=ups, time_source=ts.source, unix=ts.now(), late=m.at.late, stray=m.at.stray,
              urcs=m.at.urcs, resyncs=m.at.resyncs)
    print("@@" + json.dumps(st))
"""


def run(b, n=1, timeout=60, **cfg):
    out = b.exec("scenario(%d, **%r)" % (n, cfg), timeout=timeout)
    line = [x for x in out.splitlines() if x.startswith("@@")][-1]
    return json.loads(line[2:])


def app_board(peer):
    files = {k: v for k, v in flashimg.app_files().items() if k not in ("/boot.py", "/main.py")}
    ctx = board(files=files)
    b = ctx.__enter__()
    b.attach_uart(1, peer)
    b.exec(SETUP, timeout=30)
    return ctx, b


def test_quectel_module_corners_on_the_wire():
    peer = ModemPeer(vendor="quectel", ready_s=1.0)
    ctx, b = app_board(peer)
    try:
        # unsolicited lines of every kind land inside every answer; a China Mobile IoT
        # ICCID with hex letters; IMEI with a +CGSN: prefix; the clock with a 4-digit year
        peer.set(urcs_mid=('+QIND: "csq",20,99', "^MODE: 17,17", "+CPSI: LTE,Online", "+ZZZ: 9"),
                 iccid="898604A1192270012345", cgsn_prefix=True, cclk_year4=True)
        st = run(b)
        assert st["ups"] == [True], st
        assert st["iccid"] == "898604A1192270012345" and st["imei"] == "861234567890123", st
        assert st["revision"] == "EC200UCNAAR03A05M08" and st["operator"] == "CHINA MOBILE", st
        assert st["time_source"] == "modem" and abs(st["unix"] - time.time()) < 30, st
        assert st["urcs"] >= 4 * 10, st
        # a late answer: AT+CGMR answers after 8 s, the driver gives up after 6 s
        peer.set(urcs_mid=(), slow={"AT+CGMR": 8.0})
        st = run(b)
        assert st["ups"] == [True] and st["revision"] is None and st["resyncs"] >= 1, st
        assert st["iccid"] == "898604A1192270012345" and st["late"] + st["stray"] >= 1, st
        cmds = peer.state()["commands"]
        i = len(cmds) - 1 - cmds[::-1].index("AT+CGMR")  # this run's (second) try
        assert cmds[i + 1].startswith("ATS8=") and cmds[i + 2] == "ATS8?", cmds[i:i + 4]
        # no SIM, on a module that only speaks AT+CMEE=2 texts: a held alarm, no power cycle
        peer.set(slow={}, sim="absent", cmee_modes=(0, 2))
        boots = peer.state()["boots"]
        cpin0 = peer.state()["commands"].count("AT+CPIN?")
        st = run(b, n=5)
        assert st["ups"] == [False] * 5 and st["reason"] == "sim_absent", st
        assert st["alarm"] == "sim_absent" and st["hold_ms"] > 500000, st
        assert st["power_cycles"] == 0 and peer.state()["boots"] == boots, st
        cmds = peer.state()["commands"]
        assert cmds.count("AT+CPIN?") - cpin0 == 2 and "AT+CMEE=2" in cmds  # hard_retries, then held
        # every registration status of TS 27.007: registered for data, waiting, or hard
        peer.set(sim="ready", cmee_modes=(0, 1, 2))
        want = {0: "not_searching", 1: None, 2: "searching", 3: "denied", 4: "searching",
                5: "roaming_not_allowed", 6: None, 7: "roaming_not_allowed", 8: "emergency_only",
                9: None, 10: "roaming_not_allowed", 11: "rlos_only"}
        hard = ("denied", "roaming_not_allowed", "emergency_only", "rlos_only")
        for stat, reason in want.items():
            peer.set(reg=stat)
            st = run(b)
            assert st["ups"] == [reason is None] and st["reason"] == reason, (stat, st)
            assert (st["hold_ms"] == 0) or reason in hard, (stat, st)
        peer.set(reg=10)
        st = run(b, roaming=True)
        assert st["ups"] == [True] and st["reg"] == "csfb_not_preferred_roaming", st
    finally:
        ctx.__exit__(None, None, None)


class BytewiseModem(ModemPeer):
    """A module whose UART takes the chip's bytes one at a time. The sim's wire hands a write
    over in whatever pieces its 2 ms ticks cut (a late tick right after the chip's write cuts
    its first byte off alone), so this is the worst case of what a loaded host does."""

    def on_rx(self, data):
        for i in range(len(data)):
            super().on_rx(data[i:i + 1])


def test_hang_up_and_dial_again_when_the_escape_comes_byte_by_byte():
    # up, down (+++ then ATH), up again on a fresh Modem over the same UART: the module must
    # have left data mode, or it takes every later command for PPP payload and looks dead
    peer = BytewiseModem(vendor="quectel", ready_s=1.0)
    ctx, b = app_board(peer)
    try:
        st = run(b)
        assert st["ups"] == [True], st
        st = run(b)
        assert st["ups"] == [True] and st["power_cycles"] == 0, st
        s = peer.state()
        assert s["commands"].count("ATD*99#") == 2 and s["commands"].count("ATH") == 2, s["commands"]
        assert not s["data"] and [up for _, up in peer.links] == [True, False, True, False], peer.links
    finally:
        ctx.__exit__(None, None, None)


def test_a76xx_ignores_a_short_off_press():
    peer = ModemPeer(vendor="simcom", ready_s=1.0)  # off press >= 2.5 s, like the A7670
    ctx, b = app_board(peer)
    try:
        st = run(b, model="a76xx")
        assert st["ups"] == [True], st
        peer.fault("silent")  # hung: only a PWRKEY power cycle cures it
        boots = peer.state()["boots"]
        # the old default press (1.5 s) does nothing to a running A76xx: it stays hung
        st = run(b, pwroff_ms=1500, model="auto")
        assert st["ups"] == [False] and st["reason"] == "no_answer" and st["power_cycles"] == 1, st
        s = peer.state()
        assert s["boots"] == boots and s["power"] == "on", s
        # its profile (and "auto") presses long enough: switched off, on again, up
        st = run(b, n=2, model="a76xx")
        assert st["ups"][-1] is True and st["power_cycles"] >= 1, st
        assert peer.state()["boots"] > boots
    finally:
        ctx.__exit__(None, None, None)
