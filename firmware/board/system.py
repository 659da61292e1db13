"""Chip-level services for the OTA engine: reset, reset cause, watchdog, image partitions.

ESP32 APIs (machine, esp32.Partition); the sim chip offers the same modules. On a build
without OTA partitions (or the bare Unix port) spare_partition() returns None.
"""
import machine

PWRON = 1
HARD = 2
WDT = 3
DEEPSLEEP = 4
SOFT = 5


def reset():
    """Hard reset: the only way an image switch or a new app slot takes effect."""
    machine.reset()


def reset_cause():
    try:
        return machine.reset_cause()
    except AttributeError:  # the Unix port's built-in machine
        return PWRON


def feed_watchdog():
    """Feed the trial watchdog main.py armed (it cannot be stopped once armed)."""
    import bootsel

    if bootsel.wdt is not None:
        bootsel.wdt.feed()


def watchdog_armed():
    import bootsel

    return bootsel.wdt is not None


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
