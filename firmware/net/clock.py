"""The real clock of the net classes: `ticks_ms()` and `await sleep_ms(ms)`.

Modem, At, LinkManager, Wifi, TimeSync and Budget take `clock=` (any object with these two
names; tests pass a virtual clock so nothing waits on the wall clock) and default to this
module. Time arithmetic stays ticks_diff / ticks_add: ticks_ms wraps.
"""
import asyncio
import time

ticks_ms = time.ticks_ms
sleep_ms = asyncio.sleep_ms
