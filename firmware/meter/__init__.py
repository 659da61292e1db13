"""Metering-IC drivers: byte-stream frame parsers that turn UART bytes into readings.

`make(chip, meter_cfg)` builds the parser a config names; each parser exposes
`channels()` (one `Channel` per metered port), `feed(buf, n)` and `request()`.
`check(cfg)` is the `meter` section's config rule (firmware/config.py RULES).
"""

# chip -> UART rates it can talk at (docs/config.md cites the datasheets): the HLW8032's UART
# is fixed at 4800 bps 8E1; the BL0942 runs at 4800 or 9600 set by its SCLK_BPS pin (19200 and
# 38400 need a MODE register write, which we never send); the BL0939 at 4800.
BAUDS = {"hlw8032": (4800,), "bl0942": (4800, 9600), "bl0939": (4800,)}


def check(cfg):
    m = cfg["meter"]
    bauds = BAUDS.get(m["chip"])
    if bauds is None:
        return "meter.chip: %r is not one of %s" % (m["chip"], ", ".join(sorted(BAUDS)))
    if m["baud"] not in bauds:
        return "meter.baud: %s talks at %s bps, not %d" % (m["chip"], " or ".join("%d" % b for b in bauds), m["baud"])
    return None


def make(chip, cfg):
    """Parser for `chip` (a name check() accepted) scaled by the meter config section."""
    if chip == "bl0942":
        from firmware.meter.bl0942 import BL0942

        return BL0942(cfg["bl_v_ref"], cfg["bl_i_ref"], cfg["bl_p_ref"], cfg["bl_e_ref"])
    if chip == "bl0939":
        from firmware.meter.bl0939 import BL0939

        return BL0939(cfg["bl_v_ref"], cfg["bl_i_ref"], cfg["bl_p_ref"], cfg["bl_e_ref"])
    if chip == "hlw8032":
        from firmware.meter.hlw8032 import HLW8032

        return HLW8032(cfg["hlw_kv_milli"], cfg["hlw_ki_milli"])
    raise ValueError("make(%r): not a chip of BAUDS (a caller that skipped config.validate)" % chip)
