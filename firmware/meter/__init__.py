"""Metering-IC drivers: byte-stream frame parsers that turn UART bytes into readings.

`make(chip, meter_cfg)` builds the parser a config names; each parser exposes
`channels()` (one `Channel` per metered port), `feed(buf, n)` and `request()`.
"""


def make(chip, cfg):
    """Parser for `chip` ("hlw8032" | "bl0942" | "bl0939") scaled by the meter config section."""
    if chip == "hlw8032":
        from firmware.meter.hlw8032 import HLW8032

        return HLW8032(cfg["hlw_kv_milli"], cfg["hlw_ki_milli"])
    if chip == "bl0942":
        from firmware.meter.bl0942 import BL0942

        return BL0942(cfg["bl_v_ref"], cfg["bl_i_ref"], cfg["bl_p_ref"], cfg["bl_e_ref"])
    if chip == "bl0939":
        from firmware.meter.bl0939 import BL0939

        return BL0939(cfg["bl_v_ref"], cfg["bl_i_ref"], cfg["bl_p_ref"], cfg["bl_e_ref"])
    raise ValueError("meter.chip: unknown chip %r" % chip)
