"""The sim board's I2C buses: devices answer the chip's transactions (chip/machine.py I2C).

A transaction is what a controller puts on the wire between START and STOP: the address,
the bytes written, then (after a repeated start) the bytes read. A device implements
`I2CDevice`; `SimBoard.attach_i2c(addr, device, bus=0)` plugs one in. The harness answers
on its I/O thread, so a device must not block; `tick(now)` runs every ~2 ms (a UART bridge
paces its channels there).
"""


class I2CDevice:
    def attach(self, board, bus, addr):
        """Once, when plugged into the board."""
        self.board = board
        self.bus = bus
        self.addr = addr

    def xfer(self, wdata, rlen):
        """One transaction: `wdata` written (b"" for none), then `rlen` bytes read. Returns
        the bytes read, or None to NACK the address (the device does not answer)."""
        return bytes(rlen)

    def tick(self, now):
        """Every ~2 ms on the harness's I/O thread."""

    def on_power(self, on):
        """The board was powered on or off (the device loses its state with the power)."""


class Buses:
    """Every I2C device of a board by (bus, address); what the chip configured."""

    def __init__(self, board):
        self.board = board
        self.devices = {}
        self.opened = {}  # bus -> (scl, sda, freq) as the chip set it up
        self.transactions = 0

    def attach(self, addr, device, bus=0):
        self.devices[(bus, addr)] = device
        device.attach(self.board, bus, addr)

    def on_line(self, args):
        """Lines from the chip: `i2cbus ID SCL SDA FREQ` and `i2c SEQ BUS ADDR WHEX RLEN`."""
        if args[0] == "i2cbus":
            bus, scl, sda, freq = (int(x) for x in args[1:5])
            self.opened[bus] = (scl, sda, freq)
            self.board.event("i2c_open", (bus, scl, sda, freq))
            return
        seq, bus, addr = int(args[1]), int(args[2]), int(args[3])
        wdata = b"" if args[4] == "-" else bytes.fromhex(args[4])
        rlen = int(args[5])
        self.transactions += 1
        dev = self.devices.get((bus, addr))
        out = dev.xfer(wdata, rlen) if dev is not None and bus in self.opened else None
        if out is None:
            self.board.send_chip("i2cr %d nack" % seq)
        else:
            self.board.send_chip("i2cr %d ack %s" % (seq, bytes(out[:rlen]).hex()))

    def tick(self, now):
        for d in list(self.devices.values()):
            d.tick(now)

    def on_power(self, on):
        if not on:
            self.opened.clear()
        for d in self.devices.values():
            d.on_power(on)

    def chip_reset(self):
        self.opened.clear()
