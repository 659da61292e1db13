"""The task watchdog model: armed by machine.WDT(timeout), fed by feed(); if a feed is
late the board resets the chip with WDT_RESET. Like the ESP32's it cannot be disarmed by
the firmware and survives a soft reset; a hard reset or power cut clears it."""


class Watchdog:
    def __init__(self):
        self.timeout = None
        self.deadline = None
        self.last_feed = None

    def arm(self, timeout_ms, now):
        self.timeout = timeout_ms / 1000.0
        self.deadline = now + self.timeout
        self.last_feed = now

    def feed(self, now):
        if self.timeout is not None:
            self.deadline = now + self.timeout
            self.last_feed = now

    def disarm(self):
        self.timeout = self.deadline = self.last_feed = None

    def expired(self, now):
        return self.deadline is not None and now > self.deadline
