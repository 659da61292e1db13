"""Ports board: relays (GPIO or 74HC595) with readback, metering ICs on a UART (one meter's
TX at a time through an analog mux), cabinet NTCs on ADCs. Only `machine` is used, so the
same code drives the ESP32 and the sim chip.

Interface the charging domain uses (port index 0-based here): n, relay(i, on),
readback(i) -> bool | None, channel(i) -> meter Channel, taken_since(i) -> ticks, poll(),
temps_dc(), all_off().

taken_since(i) is a lower bound of when channel i's current reading was measured: the
domain must not credit a new session with energy measured before its relay closed, nor
judge a relay welded on a frame measured before it opened. Behind the mux a reading always
comes from frames that began after its meter was selected; a polled chip measures after
our request; a chip alone on the UART pushing frames measured the frame that completed
since the previous poll, so no earlier than that poll minus one frame's time on the wire.
"""
import time
from machine import Pin, UART, ADC
from firmware.meter import make
from firmware.meter.ntc import ntc_dc

_DWELL_MAX_MS = 400  # leave a silent meter after this; the domain reports it as silent


class Ports:
    def __init__(self, cfg, pins):
        self.n = n = cfg["pile"]["ports"]
        mc = cfg["meter"]
        self._mc = mc
        self._on = [False] * n
        self._muxbits = 0  # meter mux selects held in the relay chain (meter_mux_q)
        if pins.get("hc595"):
            d, c, l, oe = (tuple(pins["hc595"]) + (None,))[:4]
            self._sr = (Pin(d, Pin.OUT, value=0), Pin(c, Pin.OUT, value=0), Pin(l, Pin.OUT, value=0))
            self._oe = Pin(oe, Pin.OUT, value=1) if oe is not None else None
            self._gpio = None
        else:
            self._sr = None
            self._gpio = [Pin(p, Pin.OUT, value=0) for p in pins["relay"][:n]]
        self.all_off()
        if self._sr and self._oe is not None:
            self._oe.value(0)  # outputs enabled only once they hold all-zero
        fb = pins.get("relay_fb") or ()
        self._fb = [Pin(p, Pin.IN) for p in fb[:n]] if len(fb) >= n else None
        chip = mc["chip"]
        per = 2 if chip == "bl0939" else 1
        self._meters = [make(chip, mc) for _ in range((n + per - 1) // per)]
        self._chans = []
        for m in self._meters:
            self._chans.extend(m.channels())
        parity = 0 if chip == "hlw8032" else None  # HLW8032: 8E1; Belling parts: 8N1
        self._uart = UART(pins["meter_uart"], baudrate=mc["baud"], bits=8, parity=parity, stop=1,
                          tx=pins["meter_tx"], rx=pins["meter_rx"], rxbuf=512, timeout=0)
        self._mux = [Pin(p, Pin.OUT, value=0) for p in (pins.get("meter_mux") or ())]
        # or the mux selects on spare 74HC595 outputs (a board revision that frees 4 GPIOs)
        self._muxq = tuple(pins.get("meter_mux_q") or ()) if self._sr else ()
        self._per = per
        self._cur = 0
        self._since = self._polled = time.ticks_ms()
        self._taken = [self._since] * n
        self._seqs = [0] * per
        # one frame on the wire (ms): HLW8032 24 bytes 8E1 (11 bits), BL0942 23 / BL0939 35 bytes 8N1
        self._frame_ms = {"hlw8032": 24 * 11, "bl0942": 23 * 10}.get(chip, 35 * 10) * 1000 // mc["baud"] + 1
        self._seq0 = 0
        self._buf = bytearray(64)
        self._adc = [ADC(Pin(p), atten=ADC.ATTN_11DB) for p in (pins.get("temp_adc") or ())]
        self._select(0)

    # ---- relays
    def _shift_out(self):
        d, c, l = self._sr
        word = self._muxbits
        for i in range(self.n):
            if self._on[i]:
                word |= 1 << i
        for i in range(15, -1, -1):  # two chained registers: 16 outputs, port 1 on Q0
            d.value((word >> i) & 1)
            c.value(1)
            c.value(0)
        l.value(1)
        l.value(0)

    def relay(self, i, on):
        self._on[i] = bool(on)
        if self._sr:
            self._shift_out()
        else:
            self._gpio[i].value(1 if on else 0)

    def all_off(self):
        for i in range(self.n):
            self._on[i] = False
        if self._sr:
            self._shift_out()
        else:
            for p in self._gpio:
                p.value(0)

    def readback(self, i):
        return None if self._fb is None else self._fb[i].value() == 1

    # ---- meters
    def channel(self, i):
        return self._chans[i]

    def _select(self, k):
        self._cur = k
        for b, pin in enumerate(self._mux):
            pin.value((k >> b) & 1)
        if self._muxq:
            bits = 0
            for b, q in enumerate(self._muxq):
                bits |= ((k >> b) & 1) << q
            self._muxbits = bits
            self._shift_out()
        # switched first, then flushed: what the UART holds now came before the switch (a
        # neighbour's frame), and the new meter's parser starts from nothing
        self._uart.read()
        self._meters[k].cut()
        self._since = time.ticks_ms()
        self._seq0 = self._meters[k].channels()[0].seq
        req = self._meters[k].request()
        if req:
            self._uart.write(req)

    def taken_since(self, i):
        return self._taken[i]

    def poll(self):
        """Feed what the selected meter sent; move on once it gave a reading (or timed out)."""
        m = self._meters[self._cur]
        chans = m.channels()
        seqs = self._seqs
        for j, c in enumerate(chans):
            seqs[j] = c.seq
        buf = self._buf
        while True:
            k = self._uart.readinto(buf)
            if not k:
                break
            m.feed(buf, k)
        now = time.ticks_ms()
        muxed = len(self._meters) > 1 and (self._mux or self._muxq)
        if m.request() is not None or muxed:
            bound = self._since  # the request (or the mux switch) came first
        else:
            bound = time.ticks_add(self._polled, -self._frame_ms)
        self._polled = now
        for j, c in enumerate(chans):
            if c.seq != seqs[j] and self._cur * self._per + j < self.n:
                self._taken[self._cur * self._per + j] = bound
        if not muxed:
            req = m.request()
            if req and time.ticks_diff(time.ticks_ms(), self._since) >= self._mc["poll_ms"]:
                self._since = time.ticks_ms()
                self._uart.write(req)
            return
        got = m.channels()[0].seq != self._seq0
        if got or time.ticks_diff(time.ticks_ms(), self._since) >= _DWELL_MAX_MS:
            self._select((self._cur + 1) % len(self._meters))

    # ---- temperatures
    def temps_dc(self):
        mc = self._mc
        return [ntc_dc(a.read_u16(), mc["ntc_r0"], mc["ntc_beta"], mc["ntc_rfix"]) for a in self._adc]
