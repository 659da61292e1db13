"""Chip-level services: deliberate and unhealthy resets, reset cause, the watchdog,
image partitions.

ESP32 APIs (machine, esp32.Partition); the sim chip offers the same modules. On a build
without OTA partitions (or the bare Unix port) spare_partition() returns None. The boot
state these resets speak to is written by lib/bootstate.py (loaded only for them: the chip
resets right after); the watchdog of this boot is lib/thisboot's.
"""
import machine

import thisboot

PWRON = 1
HARD = 2
WDT = 3
DEEPSLEEP = 4
SOFT = 5


def reset(reason):
    """A deliberate hard reset (an install, a reboot command, a tool): its intent is recorded
    first, so the boot after it does not count it against a trial. Without it the next boot
    could not tell it from a panic: the ESP32 reports both as HARD_RESET (docs/platform.md)."""
    import bootstate

    bootstate.intend_reset(reason)
    machine.reset()


def reset_unhealthy(reason):
    """The running release is unhealthy (a task crashed, the health rule was not met in
    time): it counts as a failed trial (bootstate.record_failure), then the chip resets."""
    import bootstate

    bootstate.record_failure(reason)
    machine.reset()


def reset_cause():
    try:
        return machine.reset_cause()
    except AttributeError:  # the Unix port's built-in machine
        return PWRON


def feed_watchdog():
    """Feed the watchdog main.py armed for this boot. It cannot be stopped once armed: the
    app's supervisor calls this at least once per its timeout (the state's wdt_ms)."""
    if thisboot.watchdog is not None:
        thisboot.watchdog.feed()


def watchdog_armed():
    return thisboot.watchdog is not None


def _esp32():
    try:
        import esp32

        return esp32
    except ImportError:
        return None


def spare_partition():
    """The app partition the next image goes to, or None without OTA partitions."""
    e = _esp32()
    if e is None:
        return None
    try:
        return e.Partition(e.Partition.RUNNING).get_next_update()
    except OSError:  # ENOENT: firmware built without OTA slots
        return None


def running_label():
    e = _esp32()
    if e is None:
        return None
    return e.Partition(e.Partition.RUNNING).info()[4]


def mark_image_valid():
    """Tell the bootloader the running image passed its health check (cancels rollback)."""
    e = _esp32()
    if e is not None:
        e.Partition.mark_app_valid_cancel_rollback()
