"""Pins and analog inputs: what the chip drives (outputs, seen by the harness and by
peers through on_pin) and what the harness drives (input levels, ADC raw readings).
Levels set by the harness persist across chip restarts, as the board's wiring does."""


class Pins:
    def __init__(self, board):
        self.board = board
        self.outputs = {}
        self.inputs = {}
        self.adc = {}

    def chip_output(self, n, level):
        changed = self.outputs.get(n) != level
        self.outputs[n] = level
        if changed:
            self.board.event("pin", (n, level))
            for link in self.board.uarts.values():
                if link.peer is not None:
                    link.peer.on_pin(n, level)

    def chip_reset(self):
        # a chip in reset drives nothing: its outputs float (reported as gone)
        for n in list(self.outputs):
            self.board.event("pin", (n, None))
        self.outputs.clear()

    def set_input(self, n, level):
        level = 1 if level else 0
        self.inputs[n] = level
        self.board.event("pin_in", (n, level))
        self.board.send_chip("pin %d %d" % (n, level))

    def glitch(self, n, level, us):
        level = 1 if level else 0
        self.board.event("glitch", (n, level, int(us)))
        self.board.send_chip("glitch %d %d %d" % (n, level, int(us)))

    def set_adc(self, n, raw):
        raw = max(0, min(4095, int(raw)))
        self.adc[n] = raw
        self.board.event("adc", (n, raw))
        self.board.send_chip("adc %d %d" % (n, raw))

    def replay(self):
        """A chip's control wire just connected: input levels and ADC readings set after its
        start (env()) but before the connect would be lost otherwise (a peer that sets an
        ADC as the chip boots: the NTC read as an open sensor). Unchanged levels fire no IRQ."""
        for n, level in self.inputs.items():
            self.board.send_chip("pin %d %d" % (n, level))
        for n, raw in self.adc.items():
            self.board.send_chip("adc %d %d" % (n, raw))

    def env(self):
        return {"UPILE_SIM_PINS": ",".join("%d=%d" % kv for kv in self.inputs.items()),
                "UPILE_SIM_ADC": ",".join("%d=%d" % kv for kv in self.adc.items())}
