"""Config rules of the `charging` section (the tariff's own are in tariff.py, the ports
against the pin map in firmware/board/rules.py): what one key means for another.

Returns None or "charging.key: what is wrong" (firmware/config.py RULES); CPython runs it too.
"""
from firmware import cfgtext
from firmware.board import pins


def check_charging(cfg):
    c = cfg["charging"]
    if c["board"] not in pins.PINS:
        return "charging.board: unknown board %r (known: %s)" % (c["board"], ", ".join(sorted(pins.PINS)))
    # limits.py resumes shed sessions below admit_w and sheds above cap_w: admit above the
    # cap would resume what it has just shed, over and over
    if c["admit_w"] > c["cap_w"]:
        return "charging.admit_w: %d is above charging.cap_w %d" % (c["admit_w"], c["cap_w"])
    # protect.volt_bad: every reading would be out of range
    if c["volt_min_dv"] >= c["volt_max_dv"]:
        return "charging.volt_min_dv: %d is not below charging.volt_max_dv %d" % (c["volt_min_dv"], c["volt_max_dv"])
    # protect.TempGuard clears below overtemp_c - temp_hyst_c: at or below 0 C it never would
    if c["temp_hyst_c"] >= c["overtemp_c"]:
        return "charging.temp_hyst_c: %d is not below charging.overtemp_c %d" % (c["temp_hyst_c"], c["overtemp_c"])
    # app.py makes the journal's folder; under /data it never meets the slots, /config or /ota
    err = cfgtext.file_path(c["journal"], "/data/")
    if err:
        return "charging.journal: %r: %s" % (c["journal"], err)
    return None
