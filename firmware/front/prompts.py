"""Every prompt and text of the front in one table: Chinese, English and what the 8-digit
display shows. The voice speaks zh or en (config front.lang); logs and the back end see the
key. Placeholders: {port} {yuan} {min} {kwh} {code} {reason} (filled by text()).

The display column uses the 7-segment font of display.py (digits, - _ and the letters
A b C d E F H I J L n o P r t U y); {port} there is two digits.
"""
# One line per text: key|zh|en|display (reasons: r.<code>|zh|en|). One string, so the
# table costs one object in RAM (none when frozen into the firmware image), not hundreds.
TABLE = """
ready|欢迎使用充电桩，请选择端口|Welcome. Choose a port|-- rEAdy
choose|{port}号端口，请刷卡、输入充电码或投币|Port {port}: tap a card, enter a code or insert coins|P{port} -  
card_ok|刷卡成功|Card accepted|CArd  on
card_wait|正在验证，请稍候|Checking the card, please wait|CArd ...
started|{port}号端口开始充电|Port {port} is charging|P{port}  on
budget_min|可充电{min}分钟|{min} minutes paid|P{port} {min}
budget_yuan|预付{yuan}元|{yuan} yuan paid|P{port}{yuan}
budget_full|充满自停|Charging until full|P{port} FULL
stopped|{port}号端口停止充电，{reason}|Port {port} stopped: {reason}|P{port} OFF
bill|本次消费{yuan}元|You paid {yuan} yuan|P{port}{yuan}
balance|卡内余额{yuan}元|Card balance {yuan} yuan|bAL{yuan}
card_busy|此卡正在{port}号端口充电|This card is charging on port {port}|P{port} on
no_port|请先选择端口|Choose a port first|P-- ?
enter_code|请输入六位充电码|Enter your 6-digit code|P{port} ------
coin_in|已投币{yuan}元|{yuan} yuan inserted|C {yuan}
fault|{port}号端口故障，{reason}|Port {port} has a fault: {reason}|P{port} E
alarm_smoke|烟雾报警，停止所有充电|Smoke alarm: every port stopped|AL SnoHE
alarm_water|水浸报警，停止所有充电|Water alarm: every port stopped|AL UAtEr
alarm_door|柜门已打开|The cabinet door is open|AL door
alarm_clear|报警解除|Alarm cleared|AL  OFF
alarm_hot|温度过高，停止所有充电|Pile too hot: every port stopped|AL  hot
alarm_test_failed|烟感自检失败|Smoke detector failed its self-test|AL tESt
not_a_charger|{port}号端口检测到非电动车充电器，已停止|Port {port}: not an e-bike charger, stopped|P{port} Err
refused|{port}号端口无法充电，{reason}|Port {port} cannot start: {reason}|P{port} no
bad_input|输入有误，请重新输入|Wrong input, try again|Err  in
version|固件版本{reason}|Firmware {reason}|U{reason}
r.full|已充满|full|
r.budget|余额用完|budget used up|
r.unplugged|充电器已拔出|charger unplugged|
r.no_load|未检测到充电器|no charger connected|
r.max_time|已达最长时间|maximum time reached|
r.over_power|功率过大|power too high|
r.over_current|电流过大|current too high|
r.voltage|电压异常|voltage out of range|
r.remote|远程停止|stopped remotely|
r.card|刷卡停止|stopped by card|
r.service|维护停止|stopped by service|
r.power_loss|断电|power cut|
r.not_a_charger|非电动车充电器|not an e-bike charger|
r.smoke|烟雾报警|smoke alarm|
r.water|水浸报警|water alarm|
r.door|柜门打开|cabinet door open|
r.port_busy|端口已占用|port in use|
r.port_faulted|端口故障|port fault|
r.unavailable|端口停用|port out of service|
r.reserved|端口已预约|port reserved|
r.over_temperature|温度过高|too hot|
r.pile_over_temperature|桩体温度过高|the pile is too hot|
r.relay_welded|继电器粘连|relay welded|
r.relay_readback|继电器故障|relay fault|
r.meter_silent|电表无响应|meter not answering|
r.supervisor|系统故障|system fault|
r.no_front|功能未启用|not fitted|
r.total_power_exceeded|总功率超限|pile power limit reached|
r.no_such_port|没有此端口|no such port|
r.unknown_card|未登记的卡|unknown card|
r.card_refused|此卡不能使用|card refused|
r.no_balance|余额不足|balance too low|
r.not_your_session|不是本卡的充电|another card's session|
r.unsupported_card|不支持的卡|card type not supported|
r.code_bad|充电码无效|invalid code|
r.code_used|充电码已使用|code already used|
r.code_port|充电码不是此端口的|code is for another port|
r.code_time|时间未同步，无法验证充电码|time unknown, cannot check the code|
r.no_credit|请先投币|insert coins first|
r.alarm|报警中|alarm active|
r.no_pile|充电系统未运行|charging is not running|
r.bad_budget|金额不足|budget too small|
r.?|其他原因|other reason|
"""


def _row(key):
    """The fields of key's line (key, zh, en, display) or None."""
    i = TABLE.find("\n" + key + "|")
    if i < 0:
        return None
    j = TABLE.find("\n", i + 1)
    return TABLE[i + 1: j].split("|")


def has(key):
    return _row(key) is not None


def reason(code, lang):
    r = _row("r." + code) or _row("r.?")
    return r[1] if lang == "zh" else r[2]


def text(key, lang="zh", port=None, fen=None, minutes=None, why=None):
    """The prompt `key` in `lang` ("zh" | "en" | "seg" for the display), filled in."""
    row = _row(key)
    if row is None:
        raise KeyError(key)
    t = row[1] if lang == "zh" else row[2] if lang == "en" else row[3]
    if port is not None:
        t = t.replace("{port}", ("%02d" % port) if lang == "seg" else str(port))
    if fen is not None:
        t = t.replace("{yuan}", yuan(fen, lang == "seg"))
    if minutes is not None:
        t = t.replace("{min}", str(minutes))
    if why is not None:
        t = t.replace("{reason}", why if lang == "seg" or key == "version" else reason(why, lang))
    return t


def yuan(fen, seg=False):
    """12.50 (money in fen as yuan; the display keeps the decimal point for its digit)."""
    return "%d.%02d" % (fen // 100, fen % 100)


_QUIET_CAUSES = ("smoke", "water", "door", "power_loss", "supervisor", "pile_over_temperature")


def from_event(ev):
    """The prompts a bus event calls for: [(key, port, fen, minutes, why, urgent)]; the
    voice speaks them and the display shows them (one mapping for both)."""
    t = ev.topic
    d = ev.data
    port = d.get("port")
    if t == "front.say":
        return [(d["key"], port, d.get("fen"), d.get("min"), d.get("why"), d.get("urgent", False))]
    if t == "session.started":
        if d.get("resumed"):
            return []  # a session carried over a power cut: nobody stands at the pile
        out = [("started", port, None, None, None, False)]
        kind, amount = d.get("kind"), d.get("amount") or 0
        if kind == "time":
            out.append(("budget_min", port, None, amount, None, False))
        elif kind == "money":
            out.append(("budget_yuan", port, amount, None, None, False))
        elif kind == "full":
            out.append(("budget_full", port, None, None, None, False))
        return out
    if t == "session.stopped":
        cause = d.get("cause")
        if cause in _QUIET_CAUSES:
            return []  # the alarm's own prompt says it once for every port
        out = [("stopped", port, None, None, cause, False)]
        if d.get("fen"):
            out.append(("bill", port, d["fen"], None, None, False))
        return out
    if t == "port.status":
        if d.get("status") == "Faulted" and d.get("prev") != "Faulted" and d.get("cause") not in _QUIET_CAUSES:
            return [("fault", port, None, None, d.get("cause"), False)]
        return []
    if t.startswith("alarm."):
        what = t[6:]
        if what == "over_temperature":
            return [("alarm_hot", None, None, None, None, True)] if d.get("on") else [("alarm_clear", None, None, None, None, False)]
        if what == "selftest":
            return [] if d.get("ok") else [("alarm_test_failed", None, None, None, None, False)]
        if what in ("smoke", "water", "door"):
            if d.get("on"):
                return [("alarm_" + what, None, None, None, None, True)]
            return [("alarm_clear", None, None, None, None, False)]
    return []
