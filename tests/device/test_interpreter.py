# Proves the device tests run on MicroPython, under the heap limit, not CPython.
import sys
import gc


def test_runs_on_micropython():
    assert sys.implementation.name == "micropython"


def test_heap_is_limited():
    gc.collect()
    total = gc.mem_free() + gc.mem_alloc()
    assert total <= 300 * 1024, total


def test_device_paths_reach_lib_and_firmware():
    import fsatomic
    import firmware

    assert hasattr(fsatomic, "write")
    assert firmware.__name__ == "firmware"


async def test_async_tests_run_in_asyncio():
    import asyncio
    import time

    # the sleep is the behaviour under test: the runner's event loop resumes this coroutine
    t0 = time.ticks_ms()
    await asyncio.sleep_ms(1)
    assert time.ticks_diff(time.ticks_ms(), t0) >= 1
