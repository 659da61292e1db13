"""NTC thermistor on an ADC: raw reading to tenths of a degree (beta equation)."""
import math


def ntc_dc(raw_u16, r0, beta, rfix):
    """NTC between the ADC node and ground, rfix to Vcc: tenths of a degree C, or None."""
    if raw_u16 <= 0 or raw_u16 >= 65535:
        return None  # open or shorted sensor
    r = rfix * raw_u16 / (65535 - raw_u16)
    inv = 1.0 / 298.15 + math.log(r / r0) / beta
    return int((1.0 / inv - 273.15) * 10)
