"""NXP SC16IS752 on the sim board's I2C bus: two UARTs (64-byte FIFOs each way) and eight
GPIOs behind one I2C address. Each channel carries a UART peer (upile.sim.peers.Peer), so
the card reader's and the voice module's emulators plug in exactly as on a native UART.

What the firmware meets, from the datasheet (SC16IS752/SC16IS762 Rev. 9, sections 7-8):
- The subaddress byte is `reg << 3 | channel << 1`; a transaction reads or writes one
  register repeatedly (no auto-increment): a burst into THR fills the TX FIFO, a burst read
  of RHR empties the RX FIFO, a 2-byte read of LSR reads LSR twice.
- LCR[7] = 1 maps DLL/DLH over RHR/IER; LCR = 0xBF maps EFR (and XON/XOFF). The baud rate
  is XTAL / prescaler / (16 * divisor); MCR[7] (prescaler 4) is writable only with EFR[4].
- Reset values: LCR 0x1D (6 data bits, even parity: a driver that forgets LCR talks
  garbage), LSR 0x60, TXLVL 64, FIFOs disabled (FCR[0] = 0: one-byte holding registers),
  divisor unprogrammed (the channel does not run until DLL/DLH are written).
- RX FIFO full: the next byte is lost and LSR[1] (overrun) is set until LSR is read.
- IOControl[3] is a software reset of the whole device (self-clearing).
- GPIO: IODir (1 = output), IOState (reads the pins, writes the outputs).

A channel whose baud rate or framing differs from its peer's (`peer.baud`, 8N1 unless the
peer says `frame`) delivers corrupted bytes both ways, as a mismatched line does.
"""
import random
import threading

from upile.sim.i2c import I2CDevice

_FIFO = 64
RHR, IER, FCR, LCR, MCR, LSR, MSR, SPR, TXLVL, RXLVL, IODIR, IOSTATE, IOINTENA, _RES, IOCONTROL, EFCR = range(16)


class _Chan:
    def __init__(self, peer):
        self.peer = peer
        self.reset()
        self.wire_in = bytearray()  # sent by the peer, not yet in the RX FIFO
        self.credit_rx = 0.0
        self.credit_tx = 0.0
        self.last = None
        self.last_poll = 0.0
        self.opened = None

    def reset(self):
        self.lcr = 0x1D
        self.ier = 0
        self.fcr = 0
        self.mcr = 0
        self.efr = 0
        self.spr = 0xFF
        self.dll = 0
        self.dlh = 0
        self.overrun = False
        self.rx = bytearray()
        self.tx = bytearray()

    def depth(self):
        return _FIFO if self.fcr & 1 else 1


class SC16IS752(I2CDevice):
    def __init__(self, peer_a=None, peer_b=None, xtal_hz=14745600, seed=7):
        self.xtal_hz = xtal_hz
        self.ch = [_Chan(peer_a), _Chan(peer_b)]
        self.lock = threading.Lock()
        self.iodir = 0
        self.io_out = 0
        self.io_in = 0xFF  # what the wiring puts on the GPIOs (inputs); set_gpio() changes it
        self.iocontrol = 0
        self.iointena = 0
        self.rng = random.Random(seed)
        self.resets = 0
        self.nack = False  # tests: the device stops answering (unplugged / dead)
        self.smoke = None  # a smoke detector with a test input (smoke_detector())
        self.smoke_on = False  # the room is smoky: the detector alarms (tests set it)

    def attach(self, board, bus, addr):
        super().attach(board, bus, addr)
        for k, c in enumerate(self.ch):
            if c.peer is not None:
                c.peer.attach(board, "i2c%d:0x%02x:%s" % (bus, addr, "AB"[k]))

    # ---- harness side
    def set_gpio(self, n, level):
        with self.lock:
            self.io_in = (self.io_in & ~(1 << n)) | ((1 if level else 0) << n)

    def smoke_detector(self, alarm_io=0, test_io=3, level=1, delay_s=0.4, working=True):
        """A cabinet smoke detector on the GPIOs: its alarm output (NC relay contact: `level`
        on alarm) on alarm_io, its TEST input on test_io; driving TEST makes it alarm after
        delay_s (a detector that fails its self-test: working=False). smoke_on = real smoke."""
        self.smoke = [alarm_io, test_io, level, delay_s, working, None]

    def _detector(self, now):
        # caller holds the lock
        d = self.smoke
        if d is None:
            return
        alarm_io, test_io, level, delay, working, since = d
        testing = bool(self.iodir & (1 << test_io)) and bool(self.io_out & (1 << test_io))
        if testing and since is None:
            d[5] = since = now
        elif not testing:
            d[5] = since = None
        on = self.smoke_on or (working and since is not None and now - since >= delay)
        bit = 1 << alarm_io
        self.io_in = (self.io_in | bit) if (on == bool(level)) else (self.io_in & ~bit)

    def gpio_out(self, n):
        """Level the chip drives on GPIOn (None while it is an input)."""
        with self.lock:
            return (self.io_out >> n) & 1 if self.iodir & (1 << n) else None

    def inject_garbage(self, k, count):
        """`count` random bytes on channel k's RX wire (a noisy line, a module babbling)."""
        with self.lock:
            self.ch[k].wire_in += bytes(self.rng.randrange(256) for _ in range(count))

    def corrupt_tx(self, k, count):
        """Flip a bit in each of the next `count` bytes the chip sends on channel k."""
        with self.lock:
            self.ch[k].corrupt = getattr(self.ch[k], "corrupt", 0) + count

    def baud(self, k):
        c = self.ch[k]
        div = c.dll | c.dlh << 8
        if not div:
            return 0
        pre = 4 if c.mcr & 0x80 else 1
        return self.xtal_hz / pre / 16.0 / div

    def framing(self, k):
        """(bits, parity 'N'|'E'|'O'|'1'|'0', stop) from LCR."""
        lcr = self.ch[k].lcr
        bits = 5 + (lcr & 3)
        if not lcr & 0x08:
            par = "N"
        elif lcr & 0x20:
            par = "0" if lcr & 0x10 else "1"  # forced parity
        else:
            par = "E" if lcr & 0x10 else "O"
        stop = 2 if lcr & 0x04 and bits > 5 else 1
        return bits, par, stop

    # ---- the I2C side
    def xfer(self, wdata, rlen):
        if self.nack:
            return None
        with self.lock:
            if not wdata:
                return bytes(rlen)  # an address probe (scan)
            sub = wdata[0]
            reg, k = (sub >> 3) & 0x0F, (sub >> 1) & 0x03
            if k > 1:
                return None  # channels 2/3 do not exist on the 752: no acknowledge
            for b in wdata[1:]:
                self._write(k, reg, b)
            return bytes(self._read(k, reg) for _ in range(rlen))

    def _special(self, c):
        return c.lcr & 0x80 and c.lcr != 0xBF

    def _write(self, k, reg, v):
        c = self.ch[k]
        if reg == RHR:
            if self._special(c):
                c.dll = v
                self._config(k)
            elif len(c.tx) < c.depth():
                c.tx.append(v)  # a full FIFO drops it, as the chip does
        elif reg == IER:
            if self._special(c):
                c.dlh = v
                self._config(k)
            else:
                c.ier = v
        elif reg == FCR:
            if c.lcr == 0xBF:
                c.efr = v
            else:
                if v & 0x02:
                    c.rx.clear()
                if v & 0x04:
                    c.tx.clear()
                c.fcr = v & 0xF9
        elif reg == LCR:
            c.lcr = v
            self._config(k)
        elif reg == MCR:
            keep = c.mcr & 0x80 if not c.efr & 0x10 else v & 0x80  # prescaler needs EFR[4]
            c.mcr = (v & 0x7F) | keep
            self._config(k)
        elif reg == SPR:
            c.spr = v
        elif reg == IODIR:
            self.iodir = v
        elif reg == IOSTATE:
            self.io_out = v
        elif reg == IOINTENA:
            self.iointena = v
        elif reg == IOCONTROL:
            if v & 0x08:  # software reset: every register to its reset value
                self.resets += 1
                for ch in self.ch:
                    ch.reset()
                self.iodir = self.io_out = self.iointena = 0
                self.iocontrol = 0
                for i in range(2):
                    self._config(i)
            else:
                self.iocontrol = v & 0x07

    def _read(self, k, reg):
        c = self.ch[k]
        if reg == RHR:
            if self._special(c):
                return c.dll
            return c.rx.pop(0) if c.rx else 0
        if reg == IER:
            return c.dlh if self._special(c) else c.ier
        if reg == FCR:  # IIR
            if c.lcr == 0xBF:
                return c.efr
            fifo = 0xC0 if c.fcr & 1 else 0
            return fifo | (0x04 if c.rx else 0x01)
        if reg == LCR:
            return c.lcr
        if reg == MCR:
            return c.mcr
        if reg == LSR:
            v = (0x01 if c.rx else 0) | (0x02 if c.overrun else 0) | (0x60 if not c.tx else 0)
            c.overrun = False
            return v
        if reg == SPR:
            return c.spr
        if reg == TXLVL:
            return c.depth() - len(c.tx)
        if reg == RXLVL:
            return len(c.rx)
        if reg == IODIR:
            return self.iodir
        if reg == IOSTATE:
            return (self.io_out & self.iodir) | (self.io_in & ~self.iodir & 0xFF)
        if reg == IOINTENA:
            return self.iointena
        if reg == IOCONTROL:
            return self.iocontrol
        return 0

    def _config(self, k):
        c = self.ch[k]
        b = self.baud(k)
        cfg = (round(b), self.framing(k)) if b and not c.lcr & 0x80 else None
        if cfg != c.opened:
            c.opened = cfg
            if cfg and c.peer is not None:
                bits, par, stop = cfg[1]
                c.peer.on_open(cfg[0], bits, None if par == "N" else par, stop)

    def _matches(self, k):
        c = self.ch[k]
        want = getattr(c.peer, "baud", None)
        if not c.opened:
            return False
        if want is None:
            return True
        frame = getattr(c.peer, "frame", (8, "N", 1))
        return abs(c.opened[0] - want) <= 0.03 * want and c.opened[1] == frame

    def _corrupt(self, data):
        return bytes(b ^ (1 << self.rng.randrange(8)) for b in data)

    # ---- the wires, paced at each channel's baud rate
    def tick(self, now):
        with self.lock:
            self._detector(now)
        for k in range(2):
            c = self.ch[k]
            if c.peer is None:
                continue
            if now - c.last_poll >= 0.005:
                c.last_poll = now
                more = c.peer.poll(now)
                if more:
                    with self.lock:
                        c.wire_in += more
            with self.lock:
                b = self.baud(k)
                if not b or c.lcr & 0x80:
                    c.last = now
                    c.wire_in.clear()  # no clock: nothing is received
                    continue
                bits, par, stop = self.framing(k)
                rate = b / (1 + bits + (0 if par == "N" else 1) + stop)
                dt = 0.0 if c.last is None else now - c.last
                c.last = now
                c.credit_rx = min(c.credit_rx + dt * rate, 8.0) if c.wire_in else 1.0
                c.credit_tx = min(c.credit_tx + dt * rate, 8.0) if c.tx else 1.0
                ok = self._matches(k)
                n = min(int(c.credit_rx), len(c.wire_in))
                if n:
                    c.credit_rx -= n
                    data = bytes(c.wire_in[:n])
                    del c.wire_in[:n]
                    if not ok:
                        data = self._corrupt(data)
                    for byte in data:
                        if len(c.rx) < c.depth():
                            c.rx.append(byte)
                        else:
                            c.overrun = True
                n = min(int(c.credit_tx), len(c.tx))
                out = None
                if n:
                    c.credit_tx -= n
                    out = bytes(c.tx[:n])
                    del c.tx[:n]
                    if not ok:
                        out = self._corrupt(out)
                    elif getattr(c, "corrupt", 0):
                        k2 = min(c.corrupt, len(out))
                        c.corrupt -= k2
                        out = self._corrupt(out[:k2]) + out[k2:]
            if out:
                c.peer.on_rx(out)

    def on_power(self, on):
        with self.lock:
            for c in self.ch:
                c.reset()
                c.wire_in.clear()
                c.opened = None
            self.iodir = self.io_out = self.iointena = self.iocontrol = 0
        for c in self.ch:
            if c.peer is not None:
                c.peer.on_power(on)
