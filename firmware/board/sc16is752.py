"""NXP SC16IS752 on I2C: two UARTs with 64-byte FIFOs and eight GPIOs, so the front's card
reader and voice module get UARTs on a board whose three native UARTs are taken (console,
modem, meters; docs/hardware.md "The front").

One register per transaction: the subaddress is `reg << 3 | channel << 1` and the chip
does not auto-increment, so a burst into THR fills the TX FIFO and a burst read of RHR
drains the RX FIFO (datasheet Rev. 9, 8.x and 7.x). Reset values are not 8N1 (LCR 0x1D)
and the FIFOs start disabled: setup() programs all of it after a software reset.
"""
from micropython import const

_RHR = const(0)
_FCR = const(2)
_LCR = const(3)
_LSR = const(5)
_SPR = const(7)
_TXLVL = const(8)
_RXLVL = const(9)
_IODIR = const(10)
_IOSTATE = const(11)
_IOCONTROL = const(14)
_FIFO = const(64)


class BridgeError(OSError):
    pass


class Bridge:
    def __init__(self, i2c, addr=0x48, xtal_hz=14745600):
        self.i2c = i2c
        self.addr = addr
        self.xtal = xtal_hz
        self._one = bytearray(1)
        self._w = bytearray(1)

    def _sub(self, ch, reg):
        return (reg << 3) | (ch << 1)

    def wr(self, ch, reg, v):
        self._w[0] = v
        self.i2c.writeto_mem(self.addr, self._sub(ch, reg), self._w)

    def rd(self, ch, reg):
        self.i2c.readfrom_mem_into(self.addr, self._sub(ch, reg), self._one)
        return self._one[0]

    def reset(self):
        """Software reset (IOControl bit 3), then prove the chip is there: the scratch-pad
        register must hold what we write (a wrong address or a dead chip raises)."""
        self.wr(0, _IOCONTROL, 0x08)
        for v in (0x5A, 0xA5):
            self.wr(0, _SPR, v)
            if self.rd(0, _SPR) != v:
                raise BridgeError("SC16IS752 at 0x%02x: scratch register reads back wrong" % self.addr)

    def setup(self, ch, baud, bits=8, parity=None, stop=1):
        """Program channel ch: divisor, framing, FIFOs enabled and emptied."""
        div = (self.xtal + 8 * baud) // (16 * baud)
        if not 1 <= div <= 0xFFFF:
            raise ValueError("baud %d impossible with a %d Hz crystal" % (baud, self.xtal))
        real = self.xtal // (16 * div)
        if abs(real - baud) * 100 > 2 * baud:
            raise ValueError("baud %d is %d with a %d Hz crystal (over 2 %% off)" % (baud, real, self.xtal))
        lcr = (bits - 5) | (0x04 if stop == 2 else 0)
        if parity is not None:
            lcr |= 0x08 | (0x10 if parity == 0 else 0)  # parity 0 even, 1 odd (machine.UART)
        self.wr(ch, _LCR, 0x80)  # divisor latch
        self.wr(ch, 0, div & 0xFF)  # DLL
        self.wr(ch, 1, div >> 8)  # DLH
        self.wr(ch, _LCR, lcr)
        self.wr(ch, _FCR, 0x07)  # FIFOs on, both reset
        return Channel(self, ch)

    # ---- GPIO (shared by both channels)
    def gpio_dir(self, out_mask):
        self.wr(0, _IODIR, out_mask)

    def gpio(self):
        return self.rd(0, _IOSTATE)

    def gpio_set(self, value):
        self.wr(0, _IOSTATE, value)


class Channel:
    """One UART of the bridge as a byte stream: any(), readinto(), write() never block
    longer than one I2C transfer; write() takes what fits in the TX FIFO and says how much."""

    def __init__(self, bridge, ch):
        self.b = bridge
        self.ch = ch
        self.overruns = 0

    def any(self):
        return self.b.rd(self.ch, _RXLVL)

    def readinto(self, buf):
        n = self.b.rd(self.ch, _RXLVL)
        if not n:
            if self.b.rd(self.ch, _LSR) & 0x02:
                self.overruns += 1
            return 0
        n = min(n, len(buf))
        mv = memoryview(buf)[:n]
        self.b.i2c.readfrom_mem_into(self.b.addr, self.b._sub(self.ch, _RHR), mv)
        return n

    def free(self):
        return self.b.rd(self.ch, _TXLVL)

    def write(self, data):
        n = min(self.b.rd(self.ch, _TXLVL), len(data))
        if n:
            self.b.i2c.writeto_mem(self.b.addr, self.b._sub(self.ch, _RHR), memoryview(data)[:n])
        return n

    def flush_input(self):
        self.b.wr(self.ch, _FCR, 0x03)  # FIFO on, RX reset
