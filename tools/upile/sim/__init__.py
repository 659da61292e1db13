"""The sim board: an ESP32 played on the host (see docs/sim.md).

`board.SimBoard` is the API; each concern has its own module: `chip` (the micropython
process on a pty), `console` (pty <-> TCP bridge, log, soft reset), `link` (the chip's
control wire), `uart` (paced UART links with fault injection), `pins`, `watchdog`,
`bootloader` (image OTA states), `wifi` (link model), `flashimg` (flash file access while
off), `peers/` (what sits on the other end of each UART).
"""
