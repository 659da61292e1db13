"""DNY (AP3000): the binary protocol of China's e-bike pile back ends, beside OCPP behind the
same command interface (firmware/station.py); docs/dny.md. frame.py frames, ident.py says who
the pile is, rules.py checks the `dny` config section. Light on purpose: the config validator
imports rules.py through this package on the device and under CPython.
"""
