"""Peers: the parts on the other end of the sim board's UARTs (one module each).

A peer implements the protocol of `Peer` below; the harness calls it from its I/O thread,
so a peer must not block. `SimBoard.attach_uart(uart_id, peer)` plugs one in.
"""


class Peer:
    def attach(self, board, uart_id):
        """Once, when attached to the board."""
        self.board = board
        self.uart_id = uart_id

    def on_open(self, baudrate, bits, parity, stop):
        """The chip called UART(...) or init() on this id."""

    def on_rx(self, data):
        """Bytes the chip wrote (its TX), delivered at the baud rate in pieces the harness's
        ticks cut (never assume one call per chip write)."""

    def poll(self, now):
        """Every ~5 ms: bytes to send to the chip (the harness paces them), or None."""
        return None

    def on_pin(self, pin, level):
        """A chip output pin changed (level None: the chip is in reset)."""

    def on_power(self, on):
        """The chip was powered on or off."""
