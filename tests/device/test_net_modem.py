# Modem driver against the AT modem emulator: bring-up, reasons, identity, time, recovery.
# Virtual time (netfakes.FakeClock): nothing here waits on the wall clock.
from firmware.net import modem as M
from firmware.net.timesync import TimeSync, unix_from_utc
from netfakes import AtModem, ModemRig, modem_cfg


async def rig_up(cfg=None, ts=None, **emu):
    rig = ModemRig(**emu)
    rig.start()
    m = M.Modem(rig, cfg or modem_cfg(apn="cmnet"), ts, clock=rig.clock)
    return rig, m


async def done(rig, m):
    await m.close()
    rig.stop()


def test_csq_to_dbm_and_registration_names():
    assert M.csq_dbm(0) == -113 and M.csq_dbm(20) == -73 and M.csq_dbm(31) == -51
    assert M.csq_dbm(99) is None
    assert M.reg_state(1, False) == (True, "home", False)
    assert M.reg_state(5, True) == (True, "roaming", False)
    assert M.reg_state(5, False) == (False, "roaming_not_allowed", True)
    assert M.reg_state(2, True) == (False, "searching", False)
    assert M.reg_state(3, True) == (False, "denied", True)


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
    alarms = []
    m.on_alarm = alarms.append  # Net publishes these as alarm.modem on the bus
    for i in range(5):
        assert not await m.up()
        assert m.reason == "sim_absent"
    assert m.power_cycles == 0 and rig.emu.boots == 1
    assert m.alarm == "sim_absent" and m.status()["alarm"] == "sim_absent" and alarms == ["sim_absent"]
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
    await rig.clock.sleep_ms(20)
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
    await rig.clock.sleep_ms(20)
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


async def test_escape_handed_over_one_byte_at_a_time():
    # the module's UART may hand it the +++ in pieces (the sim's wire cuts a write wherever its
    # tick falls): it still leaves data mode, so the hang-up and the next dial work
    rig, m = await rig_up(modem_cfg(apn="cmnet", cmd_timeout_ms=300))
    rig.bytewise = True
    assert await m.up()
    await m.down()
    assert not rig.emu.data and "ATH" in rig.emu.commands
    assert await m.up(), m.reason
    assert m.power_cycles == 0 and rig.emu.commands.count("ATD*99#") == 2
    await done(rig, m)


def test_escape_needs_three_pluses_in_a_row():
    emu = data_mode_emu()
    for piece in (b"+", b"+", b"~", b"+", b"+"):  # data between: PPP payload, no escape
        emu.on_rx(piece)
    assert emu.data
    emu.on_rx(b"+\x7e")  # the third '+' in a row, whatever comes in the same read
    assert not emu.data
    emu.now = 2.0
    assert emu.poll(2.0) == b"\r\nOK\r\n"
    emu.on_rx(b"ATO\r")
    assert emu.data and emu.poll(3.0).endswith(b"CONNECT 150000000\r\n")
    emu.on_rx(b"++")
    emu.drop_carrier()  # NO CARRIER with two '+' counted: the next data session starts from none
    emu.on_rx(b"ATO\r")
    emu.on_rx(b"+")
    assert emu.data
    emu.on_rx(b"++")
    assert not emu.data


def data_mode_emu():
    """An emulator switched on, registered and in data mode after ATD*99#."""
    emu = AtModem(ready_s=0.0)
    emu.on_power(True)
    emu.poll(0.1)
    emu.on_rx(b"ATE0\r")
    emu.on_rx(b"ATD*99#\r")
    assert emu.data
    emu.poll(0.2)
    return emu


async def test_slow_answers_garbage_and_shuffled_boot_lines():
    rig, m = await rig_up(modem_cfg(cmd_timeout_ms=600), delay_s=0.15, garbage_s=0.05, boot_seed=3)
    assert await m.up(), m.reason
    assert m.at.garbage > 0 and m.iccid
    await done(rig, m)


def test_every_registration_status_of_ts_27007():
    # stat -> (registered for data, name, hard) with roaming allowed / refused
    want = {0: (False, "not_searching", False), 1: (True, "home", False),
            2: (False, "searching", False), 3: (False, "denied", True),
            4: (False, "unknown", False), 5: (True, "roaming", False),
            6: (True, "sms_only", False), 7: (True, "sms_only_roaming", False),
            8: (False, "emergency_only", True), 9: (True, "csfb_not_preferred", False),
            10: (True, "csfb_not_preferred_roaming", False), 11: (False, "rlos_only", True)}
    for stat, w in want.items():
        assert M.reg_state(stat, True) == w, (stat, M.reg_state(stat, True))
    for stat in (5, 7, 10):
        assert M.reg_state(stat, False) == (False, "roaming_not_allowed", True)
    assert M.reg_state(99, True) == (False, "unknown", False)  # vendor values wait
    # query form "n,stat[,...]" and URC form "stat[,...]" of all three commands
    for name in ("+CREG", "+CGREG", "+CEREG"):
        assert M.reg_stat(name + ": 0,6") == 6
        assert M.reg_stat(name + ': 2,10,"1A2B","01A2B3C4",7') == 10
        assert M.reg_stat(name + ": 11") == 11
        assert M.reg_stat(name + ': 5,"1A2B","01A2B3C4",7') == 5
        assert M.reg_stat(name + ": 2,,,") == 2  # URC with n=2 and no cell yet
        assert M.reg_stat(name + ": x") is None


def test_cclk_four_digit_year_zone_and_sign():
    assert M.parse_cclk('+CCLK: "2026/07/05,12:34:56+32"') == unix_from_utc(2026, 7, 5, 4, 34, 56)
    assert M.parse_cclk('+CCLK: "2026/07/05,12:34:56-20"') == unix_from_utc(2026, 7, 5, 17, 34, 56)
    assert M.parse_cclk('+CCLK: "26/07/05,12:34:56+00"') == unix_from_utc(2026, 7, 5, 12, 34, 56)
    assert M.parse_cclk('+CCLK: "2026/07/05,12:34:56"') == unix_from_utc(2026, 7, 5, 12, 34, 56)
    assert M.parse_cclk('+CCLK: "1980/01/06,00:00:12+00"') is None
    assert M.parse_cclk('+CCLK: "2004/01/01,00:00:12+00"') is None


def test_identity_by_shape_from_every_vendor_spelling():
    # ICCIDs with hex letters (China Mobile IoT) and F padding, from every spelling
    for line in ("+QCCID: 898604A1192270012345", "+ICCID: 898604a119227001234F",
                 '+CCID: "898604A1192270012345"', "898604A1192270012345"):
        assert M.iccid([line]) in ("898604A1192270012345", "898604A119227001234F"), line
    assert M.iccid(["+QCCID: 12345", "ERRORX"]) is None
    assert M.iccid(["+ICCID: 8986GG1192270012345"]) is None
    assert M.imei(["+CGSN: 861234567890123"]) == "861234567890123"
    assert M.imei(['+CGSN: "861234567890123"']) == "861234567890123"
    assert M.imei(["86123456789012", "861234567890123"]) == "861234567890123"
    assert M.revision(["+CGMR: EC200UCNAAR03A05M08"]) == "EC200UCNAAR03A05M08"
    assert M.revision(["Revision: A7670E-LASE_V1.11"]) == "A7670E-LASE_V1.11"


async def test_hex_iccid_and_prefixed_imei_read_from_the_modules():
    for vendor in ("quectel", "simcom", "luat"):
        rig, m = await rig_up(vendor=vendor, iccid="898604A1192270012345", cgsn_prefix=True)
        assert await m.up(), (vendor, m.reason)
        assert m.iccid == "898604A1192270012345", (vendor, m.iccid)
        assert m.imei == "861234567890123", (vendor, m.imei)
        await done(rig, m)


async def test_unknown_urcs_inside_answers_are_never_the_answer():
    mid = ('+QIND: "csq",20,99', "^MODE: 17,17", "+CPSI: LTE,Online,460-00", "+XYZZY: 1,2",
           "+E_UTRAN Service", "SMS DONE")
    ts = TimeSync()
    rig, m = await rig_up(ts=ts, urcs_mid=mid, iccid="898604A1192270012345")
    assert await m.up(), m.reason
    assert m.imei == "861234567890123"
    assert m.revision == "EC200UCNAAR03A05M08"
    assert m.iccid == "898604A1192270012345"
    assert m.operator == "CHINA MOBILE" and m.dbm == -73 and m.reg == "home"
    assert ts.source == "modem"
    assert m.at.urcs >= 6 * 8
    await done(rig, m)


async def test_verbose_cme_errors_mean_their_numbers():
    # a module that refuses AT+CMEE=1 runs with 2: "SIM not inserted" is a missing SIM
    rig, m = await rig_up(sim="absent", cmee_modes=(0, 2))
    assert not await m.up() and m.reason == "sim_absent"
    assert "AT+CMEE=2" in rig.emu.commands and rig.emu.cmee == 2
    await done(rig, m)
    rig, m = await rig_up(sim="pin", pin="4321", cmee_modes=(0, 2))
    assert not await m.up() and m.reason == "sim_pin"
    await done(rig, m)


async def test_no_sim_is_an_alarm_held_long_with_bounded_power_cycles():
    cfg = modem_cfg(hard_retries=3, hard_backoff_ms=60000)
    rig, m = await rig_up(cfg, sim="absent")
    t0 = rig.clock.ticks_ms()
    tries = 0
    while rig.clock.elapsed(t0) < 5 * 60000:  # what a link manager would do for 5 minutes
        tries += 1
        await m.up()
        await rig.clock.sleep_ms(max(m.hold_ms(), 1000))
    assert tries >= 5 and m.reason == "sim_absent" and m.alarm == "sim_absent"
    assert m.power_cycles == 0 and rig.emu.boots == 1  # never a power-cycle loop
    # 3 tries, then a minute without touching the module, and so on
    n = rig.emu.commands.count("AT+CPIN?")
    assert 3 * 4 <= n <= 3 * 6, n
    await done(rig, m)


async def test_each_registration_status_on_bring_up():
    for stat, up, reason in ((1, True, None), (6, True, None), (9, True, None),
                             (0, False, "not_searching"), (2, False, "searching"),
                             (4, False, "searching"), (3, False, "denied"),
                             (8, False, "emergency_only"), (11, False, "rlos_only"),
                             (7, False, "roaming_not_allowed"), (10, False, "roaming_not_allowed")):
        rig, m = await rig_up(reg=stat)
        assert await m.up() is up, (stat, m.reason)
        assert m.reason == reason, (stat, m.reason)
        # hard causes are never cured by a power cycle; waiting ones are retried on a fresh module
        assert (m.reason in M.HARD) == (stat in (3, 8, 11, 7, 10)), (stat, m.reason)
        await done(rig, m)
    for stat in (7, 10):
        rig, m = await rig_up(modem_cfg(roaming=True), reg=stat)
        assert await m.up(), (stat, m.reason)
        await done(rig, m)


async def test_late_answer_after_a_timeout_never_answers_the_next_command():
    # AT+CGMR answers after 500 ms; the driver gives up at 300 ms and goes on
    rig, m = await rig_up(modem_cfg(apn="cmnet", cmd_timeout_ms=300), slow={"AT+CGMR": 0.5},
                          iccid="898604A1192270012345")
    assert await m.up(), m.reason
    assert m.revision is None and m.iccid == "898604A1192270012345"
    assert m.imei == "861234567890123" and m.operator == "CHINA MOBILE"
    # its late OK answered the resync's ATS8= (whose own OK then came unasked), never QCCID
    assert m.at.resyncs >= 1 and m.at.late + m.at.stray >= 1
    cmds = rig.emu.commands
    i = cmds.index("AT+CGMR")
    assert cmds[i + 1].startswith("ATS8=") and cmds[i + 2] == "ATS8?"
    await done(rig, m)


async def test_resync_survives_a_module_that_drops_input_while_busy():
    rig, m = await rig_up(modem_cfg(apn="cmnet", cmd_timeout_ms=300), slow={"AT+CGMR": 0.5},
                          drop_busy=True)
    assert await m.up(), m.reason
    assert rig.emu.dropped >= 1 and m.at.resyncs >= 2 and m.iccid == "89860012345678901234"
    await done(rig, m)


def test_power_key_profiles():
    c = modem_cfg(model="auto", pwron_ms=0, pwroff_ms=0, off_wait_ms=0, ready_ms=0)
    t = M.timings(c)
    for model in ("a76xx", "ec200", "air780"):
        p = M.timings(modem_cfg(model=model, pwron_ms=0, pwroff_ms=0, off_wait_ms=0, ready_ms=0))
        # auto is safe for each: presses and waits at least as long, the on press
        # still shorter than the A76xx's off press
        for k in ("pwron_ms", "pwroff_ms", "off_wait_ms", "ready_ms"):
            assert t[k] >= p[k], (model, k)
    assert M.timings(modem_cfg(model="a76xx", pwroff_ms=0))["pwroff_ms"] >= 2500
    assert t["pwron_ms"] < 2500
    assert M.timings(modem_cfg(model="ec200", pwroff_ms=1234))["pwroff_ms"] == 1234  # explicit wins
    try:
        M.Modem(None, modem_cfg(model="sim800"))
        raise AssertionError("accepted model sim800")
    except ValueError as e:
        assert "modem.model" in str(e)


async def test_a76xx_ignores_a_short_off_press_so_its_profile_presses_long():
    # the old 1.5 s off press leaves a hung A7670 hung: power cycles do nothing
    z = dict(pwron_ms=0, off_wait_ms=0, ready_ms=0)
    rig, m = await rig_up(modem_cfg(model="ec200", pwroff_ms=0, **z), vendor="simcom", on_press_s=None, off_press_s=None)
    assert await m.up()
    rig.emu.silent()
    await m.down()
    assert not await m.up() and m.reason == "no_answer"
    assert rig.emu.boots == 1 and rig.emu.power == "on"  # still hung
    await done(rig, m)
    for model in ("a76xx", "auto"):
        rig, m = await rig_up(modem_cfg(model=model, pwroff_ms=0, **z), vendor="simcom", on_press_s=None, off_press_s=None)
        assert await m.up()
        rig.emu.silent()
        await m.down()
        assert await m.up(), (model, m.reason)
        assert m.power_cycles == 1 and rig.emu.boots == 2, model
        await done(rig, m)


def test_every_model_the_config_accepts_has_a_profile():
    from firmware.net import modem, rules

    assert sorted(modem.PROFILES) == sorted(rules.MODELS)
