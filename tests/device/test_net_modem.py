# Modem driver against the AT modem emulator: bring-up, reasons, identity, time, recovery.
import asyncio

from firmware.net import modem as M
from firmware.net.timesync import TimeSync, unix_from_utc
from netfakes import ModemRig, modem_cfg


async def rig_up(cfg=None, ts=None, **emu):
    rig = ModemRig(**emu)
    rig.start()
    m = M.Modem(rig, cfg or modem_cfg(apn="cmnet"), ts)
    return rig, m


async def done(rig, m):
    await m.close()
    rig.stop()


def test_csq_to_dbm_and_registration_names():
    assert M.csq_dbm(0) == -113 and M.csq_dbm(20) == -73 and M.csq_dbm(31) == -51
    assert M.csq_dbm(99) is None
    assert M.reg_state(1, False) == (True, "home")
    assert M.reg_state(5, True) == (True, "roaming")
    assert M.reg_state(5, False) == (False, "roaming_not_allowed")
    assert M.reg_state(2, True) == (False, "searching")
    assert M.reg_state(3, True) == (False, "denied")


def test_cclk_with_zone_in_quarter_hours():
    # 12:00 local at UTC+8 (32 quarters) is 04:00 UTC
    assert M.parse_cclk('+CCLK: "26/07/05,12:00:00+32"') == unix_from_utc(2026, 7, 5, 4, 0, 0)
    assert M.parse_cclk('+CCLK: "26/01/01,00:30:00-04"') == unix_from_utc(2026, 1, 1, 1, 30, 0)
    assert M.parse_cclk('+CCLK: "80/01/06,00:00:12+00"') is None  # not set by the network
    assert M.parse_cclk('+CCLK: "00/01/01,00:00:05+00"') is None
    assert M.parse_cclk("+CCLK: garbage") is None
    assert unix_from_utc(1970, 1, 1, 0, 0, 0) == 0
    assert unix_from_utc(2000, 3, 1, 0, 0, 0) == 951868800


async def test_bring_up_to_ppp_with_identity_and_time():
    ts = TimeSync()
    rig, m = await rig_up(ts=ts, boot_seed=7, csq=20)
    assert await m.up(), m.reason
    assert m.isup() and rig.emu.data and rig.emu.apn == "cmnet"
    assert m.imei == "861234567890123"
    assert m.iccid == "89860012345678901234"
    assert m.revision == "EC200UCNAAR03A05M08"
    assert m.operator == "CHINA MOBILE"
    assert m.dbm == -73 and m.reg == "home"
    assert ts.source == "modem" and ts.synced()
    cmds = rig.emu.commands
    assert "ATE0" in cmds and "AT+CMEE=1" in cmds and cmds[-1] == "ATD*99#"
    assert m.power_cycles == 0 and rig.emu.boots == 1
    await done(rig, m)


async def test_iccid_vendor_spellings():
    for vendor in ("simcom", "luat"):
        rig, m = await rig_up(vendor=vendor, iccid="8986001122334455667F")
        assert await m.up(), (vendor, m.reason)
        assert m.iccid == "8986001122334455667F", (vendor, m.iccid)
        await done(rig, m)


async def test_no_sim_reports_why_and_is_not_power_cycled_forever():
    rig, m = await rig_up(sim="absent")
    for i in range(5):
        assert not await m.up()
        assert m.reason == "sim_absent"
    assert m.power_cycles == 0 and rig.emu.boots == 1
    # hard_retries=2: only two attempts talked to the module, then a long hold
    assert rig.emu.commands.count("AT+CPIN?") == 2
    assert m.hold_ms() > 50000
    assert m.status()["reason"] == "sim_absent"
    await done(rig, m)


async def test_pin_required():
    rig, m = await rig_up(sim="pin", pin="4321")
    assert not await m.up() and m.reason == "sim_pin"
    await done(rig, m)
    rig, m = await rig_up(modem_cfg(pin="0000"), sim="pin", pin="4321")
    assert not await m.up() and m.reason == "sim_pin_wrong"
    await done(rig, m)
    rig, m = await rig_up(modem_cfg(pin="4321"), sim="pin", pin="4321")
    assert await m.up(), m.reason
    await done(rig, m)


async def test_registration_denied_roaming_and_long_search():
    rig, m = await rig_up(reg="denied")
    assert not await m.up() and m.reason == "denied"
    assert m.power_cycles == 0
    await done(rig, m)
    rig, m = await rig_up(reg="roaming")
    assert not await m.up() and m.reason == "roaming_not_allowed"
    await done(rig, m)
    rig, m = await rig_up(modem_cfg(roaming=True), reg="roaming")
    assert await m.up() and m.reg == "roaming"
    await done(rig, m)
    # searching for longer than reg_timeout: a named failure, then a power cycle next time
    rig, m = await rig_up(reg="searching")
    assert not await m.up() and m.reason == "searching"
    rig.emu.reg = "home"
    assert await m.up(), m.reason
    assert m.power_cycles == 1
    await done(rig, m)
    # searching for a while, within reg_timeout: just takes longer
    rig, m = await rig_up(search_s=0.3)
    assert await m.up(), m.reason
    assert rig.emu.commands.count("AT+CEREG?") >= 3
    await done(rig, m)


async def test_silent_modem_is_power_cycled_and_recovers():
    rig, m = await rig_up()
    assert await m.up()
    rig.emu.silent()  # hangs: data link dead, no AT answers
    await asyncio.sleep_ms(20)
    assert not m.isup()
    await m.down()
    assert await m.up(), m.reason
    assert m.power_cycles == 1 and rig.emu.boots == 2 and m.isup()
    await done(rig, m)


async def test_module_off_at_start_is_switched_on_not_cycled():
    rig, m = await rig_up(auto_on=False)
    assert await m.up(), m.reason
    assert m.power_cycles == 0 and rig.presses == 1
    await done(rig, m)


async def test_no_carrier_while_connected_then_redial():
    rig, m = await rig_up()
    assert await m.up()
    rig.emu.drop_carrier()
    await asyncio.sleep_ms(20)
    assert not m.isup()
    await m.down()
    assert await m.up(), m.reason
    assert m.power_cycles == 0 and rig.emu.commands.count("ATD*99#") == 2
    await done(rig, m)


async def test_hang_up_from_data_mode_with_escape():
    rig, m = await rig_up(modem_cfg(apn="cmnet", cmd_timeout_ms=300))
    assert await m.up()
    await m.down()  # the module is still in data mode: +++ then ATH
    assert not rig.emu.data and "ATH" in rig.emu.commands
    await done(rig, m)


async def test_slow_answers_garbage_and_shuffled_boot_lines():
    rig, m = await rig_up(modem_cfg(cmd_timeout_ms=600), delay_s=0.15, garbage_s=0.05, boot_seed=3)
    assert await m.up(), m.reason
    assert m.at.garbage > 0 and m.iccid
    await done(rig, m)
