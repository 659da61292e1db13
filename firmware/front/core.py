"""The front's hub: builds each part from the config and the board's objects, answers the
keypad and the station, and hands every long-running part to the supervisor."""
import asyncio
from micropython import const

import log
from firmware.station import Refused

_log = log.get("front")


ROOT = "/data/front"  # the front's files: cards.txt, codes.jnl, coins.jnl, alarms.jnl
_PANEL_MS = const(30)  # keypad and display poll
_CARD_MS = const(300)  # a card search this often (PN532 InListPassiveTarget)
_COIN_MS = const(100)


class Front:
    def __init__(self, cfg, station, bus, hw, root=ROOT):
        from firmware.front.starts import Starts

        self.cfg = cfg
        self.station = station
        self.bus = bus
        self.hw = hw
        rtc = getattr(hw, "rtc_unix", None)
        # the synced clock, else the RTC a reset kept (an offline pile still checks codes)
        self.now = lambda: bus.now() or (rtc() if rtc is not None else None)
        self.alarms = None
        if hw.bridge is not None and cfg["front"]["alarms"]:
            from firmware.front.alarms import Alarms

            self.alarms = Alarms(cfg, station, bus, hw.sensors, hw.set_outputs, path=root + "/alarms.jnl")
        self.starts = Starts(station, bus, self.alarms.blocking if self.alarms else None)
        self.cards = self.reader = None
        if hw.card is not None:
            from firmware.front.cards import Cards
            from firmware.front.pn532 import PN532

            self.cards = Cards(cfg, self.starts, bus, path=root + "/cards.txt")
            self.reader = PN532(hw.card)
            self.card_sub = bus.subscribe("session.stopped", size=cfg["pile"]["ports"] + 4)
        from firmware.front.codes import Codes

        self.codes = Codes(cfg, self.now, root + "/codes.jnl")
        self.coins = None
        if hw.coins is not None:
            from firmware.front.coins import Coins

            self.coins = Coins(cfg, hw.coins, root + "/coins.jnl")
        self.voice = None
        if hw.voice is not None:
            from firmware.front.voice import Voice

            self.voice = Voice(cfg, hw.voice, bus, self.now)
        self.io_errors = 0  # bus errors the parts rode over (a loose panel cable...)
        self.display = self.keypad = None
        if hw.panel is not None:
            from firmware.front.display import Display
            from firmware.front.keypad import Keypad

            self.display = Display(cfg, hw.panel, station)
            self.keypad = Keypad(cfg, self)
            self.panel_sub = bus.subscribe("session.", "port.status", "alarm.", "front.say", size=16)

    # ---- what the keypad asks for
    def select(self, port):
        self.starts.say("choose", port)

    def bad_input(self):
        self.starts.say("bad_input")

    def show_entry(self, text):
        if self.display is not None:
            self.display.entry = text

    def code(self, port, code):
        from firmware.front.codes import CodeError

        if self.codes is None:
            self.starts.refuse(port, "code_bad")
            return None
        try:
            kind, amount = self.codes.check(port, code)
        except CodeError as e:
            self.starts.refuse(port, e.args[0])
            return None
        try:
            return self.starts.start(port, "code", "code-" + code, kind, amount)
        except Refused:
            self.codes.release(port, code)  # the pile said no: the code stays good
            return None

    def coin_start(self, port):
        c = self.coins
        if c is None or c.credit <= 0:
            self.starts.refuse(port, "no_credit")
            return None
        fen, tag = c.reserve()
        try:
            sid = self.starts.start(port, "coin", tag, "money", fen)
        except Refused:
            c.refund(fen)
            return None
        c.started(tag, sid)
        return sid

    # ---- what a back end asks for (through the station)
    def card_answer(self, req, accepted, kind=None, amount=0, balance=None, reason=None):
        return self.cards is not None and self.cards.answer(req, accepted, kind, amount, balance, reason)

    def _budget_args(self, kind, amount):
        if kind not in ("time", "energy", "money", "full") or type(amount) is not int or amount < 0 \
                or (kind != "full" and amount == 0):
            raise Refused("bad_budget", "%s %s" % (kind, amount))

    def set_card(self, tag, kind, amount, balance=None):
        if self.cards is None:
            raise Refused("no_front", "no card reader")
        # the tag becomes a line of the list file: printable, no spaces, as a UID's hex is
        if type(tag) is not str or not 1 <= len(tag) <= 20 or any(not "!" <= ch <= "~" for ch in tag):
            raise Refused("bad_args", "id_tag")
        self._budget_args(kind, amount)
        if balance is not None and (type(balance) is not int or balance < 0):
            raise Refused("bad_args", "balance")
        self.cards.set_card(tag, kind, amount, balance)

    def issue_code(self, code, port=0, kind="full", amount=0, expires=0):
        if self.codes is None:
            raise Refused("no_front", "codes are off")
        if type(port) is not int or not 0 <= port <= self.cfg["pile"]["ports"]:
            raise Refused("no_such_port", str(port))
        if type(expires) is not int or expires < 0:
            raise Refused("bad_args", "expires")
        self._budget_args(kind, amount)
        try:
            self.codes.issue(code, port, kind, amount, expires)
        except ValueError as e:
            raise Refused("bad_args", e.args[0])

    def pending_alarms(self, limit=20):
        return self.alarms.pending_alarms(limit) if self.alarms is not None else []

    def ack_alarm(self, aid):
        return self.alarms is not None and self.alarms.ack(aid)

    def status(self):
        from firmware.front import qr_payload

        d = {"qr": qr_payload(self.cfg, 0)}
        if self.cards is not None:
            d["card"] = {"taps": self.cards.taps, "repeats": self.cards.repeats, "reader": self.reader.firmware,
                         "errors": self.reader.errors, "garbage": self.reader.garbage}
        if self.coins is not None:
            d["coin"] = {"credit": self.coins.credit, "pulses": self.coins.pulses}
        if self.voice is not None:
            v = self.voice
            d["voice"] = {"spoken": v.spoken, "rejected": v.rejected, "garbage": v.garbage, "silent": v.silent}
        if self.alarms is not None:
            d["alarm"] = {"active": list(self.alarms.active), "pending": len(self.alarms.pending),
                          "selftest": self.alarms.test_result}
        d["missing"] = self.hw.missing
        d["io_errors"] = self.io_errors
        return d

    # ---- the tasks
    async def card_task(self, beat=None):
        from firmware.front.pn532 import ReaderError

        c = self.cards
        for b in self.station.each_pending_bill() if self.station.pile is not None else ():
            c.debit(b)  # bills a power cut kept from being debited
        fails = 0
        while True:
            try:
                if self.reader.firmware is None or fails >= 3:
                    await self.reader.begin()
                    fails = 0
                    _log.info("card reader PN532 firmware %s", self.reader.firmware)
                found = await self.reader.search()
                fails = 0
            except (ReaderError, OSError) as e:  # OSError: the bridge itself (I2C) failed
                fails += 1
                found = None
                self.io_errors += isinstance(e, OSError)
                if fails >= 3:
                    _log.warn("card reader: %r", e)
                    self.reader.firmware = None
                    await asyncio.sleep_ms(2000)
            if found is not None:
                k = self.keypad
                what = await c.tap(found[0], k.selected() if k is not None else None)
                if k is not None and what in ("started", "stopped"):
                    k.forget()  # the chosen port was used
            while True:
                ev = self.card_sub.get_nowait()
                if ev is None:
                    break
                c.debit(ev.data)
            await asyncio.sleep_ms(_CARD_MS)

    async def panel_task(self, beat=None):
        d, k, p = self.display, self.keypad, self.hw.panel
        ms = _PANEL_MS
        while True:
            while True:
                ev = self.panel_sub.get_nowait()
                if ev is None:
                    break
                d.event(ev)
            try:
                k.feed(p.keys())
                d.tick()
            except OSError as e:  # the panel's I2C: not a reason to crash (the supervisor
                self._io_error("panel", e)  # counts crashes pile-wide and reboots)
                await asyncio.sleep_ms(1000)
                continue
            await asyncio.sleep_ms(ms)

    def _io_error(self, what, e):
        self.io_errors += 1
        if self.io_errors & (self.io_errors - 1) == 0:  # 1st, 2nd, 4th, 8th...: the log stays small
            _log.warn("%s: %r (%d I/O errors)", what, e, self.io_errors)

    async def coin_task(self, beat=None):
        """Credit every pulse as it is counted; say the credit once a coin's pulse train has
        ended (no pulse for 400 ms), not once per pulse."""
        c = self.coins
        quiet = -1
        while True:
            if c.poll():
                quiet = 0
            elif quiet >= 0:
                quiet += 1
                if quiet >= 4:
                    quiet = -1
                    self.starts.say("coin_in", fen=c.credit)
            await asyncio.sleep_ms(_COIN_MS)

    def start(self, sup):
        """Hand every part's task to the supervisor."""
        if self.coins is not None:
            self.coins.settle_boot(self.station)
            sup.add("coins", self.coin_task)
        if self.alarms is not None:
            sup.add("alarms", self.alarms.run)
        if self.cards is not None:
            sup.add("card", self.card_task)
        if self.voice is not None:
            sup.add("voice", self.voice.run)
        if self.display is not None:
            sup.add("panel", self.panel_task)
