"""Boards: one interface, registered by name. Only this package imports machine/esp32/network."""
