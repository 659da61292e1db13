"""Waiting in device tests: on a condition, with a deadline, never a fixed time."""
import asyncio
import time


async def until(cond, ms=10000, step_ms=10):
    """cond()'s first true value, yielding to the tasks under test; AssertionError after `ms`."""
    end = time.ticks_add(time.ticks_ms(), ms)
    while time.ticks_diff(end, time.ticks_ms()) > 0:
        v = cond()
        if v:
            return v
        await asyncio.sleep_ms(step_ms)
    raise AssertionError("condition not met within %d ms" % ms)
