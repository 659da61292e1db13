"""SimBoard: an ESP32 board on the host. The chip is a `micropython` process running the
board's own boot.py/main.py from a littlefs flash file; everything around it (power,
console, UART peers, pins, watchdog, radio links) is played here. See docs/sim.md.
"""
import atexit
import os
import signal
import threading
import time
import weakref
from pathlib import Path

from upile import paths
from upile.sim import bootloader, flashimg
from upile.sim.chip import ChipProcess, CHIP_DIR
from upile.sim.console import Console
from upile.sim.i2c import Buses
from upile.sim.ioloop import IOLoop
from upile.sim.link import ControlLink
from upile.sim.pins import Pins
from upile.sim.uart import UartLink, UartServer
from upile.sim.watchdog import Watchdog
from upile.sim.wifi import NetModel

PWRON, HARD, WDT, DEEPSLEEP, SOFT = 1, 2, 3, 4, 5
CAUSE_NAMES = {PWRON: "PWRON", HARD: "HARD", WDT: "WDT", DEEPSLEEP: "DEEPSLEEP", SOFT: "SOFT"}
_LIVE = weakref.WeakSet()


class SimBoardError(Exception):
    pass


class SimBoard:
    def __init__(self, workdir, flash_size=2 * 1024 * 1024, heap="1M", console_port=0, uid="240ac4000001"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.flash_path = self.workdir / "flash.bin"
        self.parts_path = self.workdir / "partitions.bin"
        self.log_path = self.workdir / "console.log"
        self.rtcmem_path = self.workdir / "rtcmem.bin"  # machine.RTC().memory(), cleared at power-on
        self.flash_size = flash_size
        self.heap = heap
        self.micropython = None  # another interpreter binary (bench/ocpp.py: the app and chip frozen in)
        self.chip_dir = CHIP_DIR  # where the chip's modules come from (empty: the binary's frozen ones)
        self.uid = uid
        if not self.parts_path.exists():
            bootloader.create(self.parts_path)
        self._events = []
        self._ev_lock = threading.Lock()
        self.loop = IOLoop()
        self.console = Console(self.loop, self.log_path, console_port)
        self.link = ControlLink(self.loop, self._on_line, lambda: self.pins.replay())
        self.uarts = {}
        self.boots = 0  # chip starts so far: UART sockets name theirs
        self.uart_server = UartServer(self.loop, self._link_for, lambda: self.boots)
        self.pins = Pins(self)
        self.i2c = Buses(self)
        self.wdt = Watchdog()
        self.net = NetModel(self)
        self.chip = None
        self.powered = False
        self.reset_cause = None
        self.running_slot = None
        self._rtc_off = 0
        self._wake_at = None
        self._closed = False
        self.loop.add_ticker(self._tick)
        _LIVE.add(self)

    # --- small helpers -------------------------------------------------------------------
    @property
    def console_port(self):
        return self.console.port

    @property
    def events(self):
        with self._ev_lock:
            return list(self._events)

    @staticmethod
    def now():
        return time.monotonic()

    def event(self, kind, detail=None):
        with self._ev_lock:
            self._events.append((time.monotonic(), kind, detail))

    def wait_event(self, kind, match=None, timeout=10.0, since=0.0):
        """Block until an event of `kind` (with match(detail) true) after `since`; it."""
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events:
                if ev[1] == kind and ev[0] >= since and (match is None or match(ev[2])):
                    return ev
            if time.monotonic() > deadline:
                raise TimeoutError("no %s event within %.1f s" % (kind, timeout))
            time.sleep(0.005)

    def send_chip(self, line):
        return self.link.send(line)

    def _link_for(self, uart_id):
        if uart_id not in self.uarts:
            self.uarts[uart_id] = UartLink(self, uart_id)
        return self.uarts[uart_id]

    # --- flash -------------------------------------------------------------------------------
    def install_files(self, files):
        """Write {device path: bytes} into the flash image (chip must be off)."""
        if self.powered:
            raise SimBoardError("install_files needs the chip powered off")
        flashimg.install(self.flash_path, self.flash_size, files)

    def read_files(self, dev_paths):
        """{device path: bytes or None} from the flash image (chip must be off)."""
        if self.powered:
            raise SimBoardError("read_files needs the chip powered off")
        return flashimg.read(self.flash_path, self.flash_size, dev_paths)

    # --- peripherals ---------------------------------------------------------------------------
    def attach_uart(self, uart_id, peer):
        def do():
            link = self._link_for(uart_id)
            link.peer = peer
            peer.attach(self, uart_id)
        self.loop.call(do)
        return self.uarts[uart_id]

    def attach_i2c(self, addr, device, bus=0):
        """Plug an I2C device (upile.sim.i2c.I2CDevice) in at 7-bit address `addr`."""
        self.loop.call(self.i2c.attach, addr, device, bus)
        return device

    def uart(self, uart_id):
        """The UartLink of an id (for fault injection: .inject(kind, ...))."""
        return self.loop.call(self._link_for, uart_id)

    def pin(self, n):
        return self.pins.outputs.get(n)

    def set_pin(self, n, level):
        self.loop.call(self.pins.set_input, n, level)

    def glitch(self, n, level, us):
        """A pulse to `level` and back on input n, `us` microseconds long: no read sees it,
        IRQs and pulse counters see its edges (the counter's glitch filter may drop it)."""
        self.loop.call(self.pins.glitch, n, level, us)

    def set_adc(self, n, raw):
        self.loop.call(self.pins.set_adc, n, raw)

    # --- power and reset --------------------------------------------------------------------
    def power_on(self):
        self.loop.call(self._power_on)

    def power_cut(self):
        self.loop.call(self._power_cut)

    def reset(self):
        """Hard reset (the EN button): the chip restarts with HARD_RESET."""
        self.loop.call(self._restart, HARD)

    def _power_on(self):
        if self.powered:
            return
        self.console.clear()
        self.powered = True
        self._rtc_off = 0
        self.rtcmem_path.write_bytes(b"")  # the RTC domain lost its power
        self.wdt.disarm()
        self.event("power", "on")
        self._peers("on_power", True)
        self.i2c.on_power(True)
        self._start(PWRON)

    def _power_cut(self):
        if not self.powered:
            return
        self._stop()
        self.powered = False
        self._wake_at = None
        self.wdt.disarm()
        self.event("power", "off")
        self._peers("on_power", False)
        self.i2c.on_power(False)

    def _restart(self, cause, mode=""):
        if not self.powered:
            return
        self._stop()
        if cause != SOFT:
            self.wdt.disarm()  # only a soft reset leaves the watchdog running
        if cause == SOFT:
            self.console.emit(b"MPY: soft reboot\r\n")
        self._start(cause, mode)

    def _start(self, cause, mode="", typed=b""):
        if cause != SOFT or self.running_slot is None:
            self.running_slot, note = bootloader.boot(self.parts_path)
            if note:
                self.event("bootloader", note)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UPILE_SIM", "MICROPY"))}
        env.update(self.pins.env())
        env.update({
            "UPILE_SIM_CHIP": str(self.chip_dir),
            "UPILE_SIM_FLASH": str(self.flash_path), "UPILE_SIM_PARTS": str(self.parts_path),
            "UPILE_SIM_CAUSE": str(cause), "UPILE_SIM_MODE": mode, "UPILE_SIM_RUNNING": self.running_slot,
            "UPILE_SIM_LINK": str(self.link.port), "UPILE_SIM_UART": str(self.uart_server.port),
            "UPILE_SIM_RTC": str(self._rtc_off), "UPILE_SIM_RTCMEM": str(self.rtcmem_path), "UPILE_SIM_UID": self.uid,
        })
        if not self.flash_path.exists():
            flashimg.install(self.flash_path, self.flash_size, {})
        self.boots += 1
        env["UPILE_SIM_BOOT"] = str(self.boots)
        self.chip = ChipProcess(self.micropython or paths.tool("micropython"), env, heap=self.heap, cwd=str(self.workdir))
        self.console.attach(self.chip.master, self.chip.pid)
        self.console.to_chip(typed)  # typed behind a Ctrl-C the chip died of: still typed
        self.reset_cause = cause
        self.net.on_chip_start()
        self.event("reset", CAUSE_NAMES[cause])
        if mode == "raw":
            # the board stays in the raw REPL across a soft reset (pyexec_mode_kind)
            self.console.to_chip(b"\x01")

    def _stop(self):
        chip, self.chip = self.chip, None
        if chip is None:
            return
        self.console.drain(chip.master)  # what it printed before it asked for the reset
        chip.kill()
        self.console.detach()
        self.link.drop()
        for link in self.uarts.values():
            link.chip_reset()
        self.pins.chip_reset()
        self.i2c.chip_reset()

    def _peers(self, method, *args):
        for link in self.uarts.values():
            if link.peer is not None:
                getattr(link.peer, method)(*args)

    # --- what the chip says ---------------------------------------------------------------------
    def _on_line(self, line):
        args = line.split()
        if not args:
            return
        kind = args[0]
        now = time.monotonic()
        if kind == "hello":
            self.console.release()
            self.net.push()
        elif kind == "pin":
            self.pins.chip_output(int(args[1]), int(args[2]))
        elif kind == "feed":
            self.wdt.feed(now)
        elif kind == "uart":
            uid, baud, bits, parity, stop = int(args[1]), int(args[2]), int(args[3]), args[4], int(args[5])
            self._link_for(uid).configure(baud, bits, parity, stop, int(args[6]) if len(args) > 6 else None)
            self.event("uart_open", (uid, baud, bits, parity, stop))
        elif kind == "uartlost":
            self.event("uart_overflow", (int(args[1]), int(args[2])))
        elif kind == "uartoff":
            self._link_for(int(args[1])).closed(int(args[2]) if len(args) > 2 else None)
            self.event("uart_close", int(args[1]))
        elif kind == "wdt":
            self.wdt.arm(int(args[1]), now)
            self.event("wdt", int(args[1]))
        elif kind == "reset":
            if args[1] == "soft":
                self._restart(SOFT, self.console.mode)
            else:
                self._restart(HARD)
        elif kind == "deepsleep":
            ms = int(args[1])
            self._stop()
            self.wdt.disarm()
            self.event("deepsleep", ms)
            self._wake_at = now + ms / 1000.0 if ms > 0 else None
        elif kind == "rtc":
            self._rtc_off = int(args[1])
        elif kind in ("wlan", "ppp"):
            self.net.on_chip(args)
        elif kind in ("i2c", "i2cbus"):
            self.i2c.on_line(args)

    def _tick(self, now):
        chip = self.chip
        if chip is not None and chip.exited():
            self.link.drain()
        if chip is not None and chip is self.chip and chip.exited():
            rc = self.chip.proc.returncode
            self.console.drain(self.chip.master)
            if rc is not None and rc >= 0:
                # SystemExit or Ctrl-D at the REPL: the board soft-resets
                self._restart(SOFT, self.console.mode)
            elif rc == -signal.SIGINT:
                # Ctrl-C in the instant the Unix port has no handler (between the start-up
                # script and its REPL): a board would just show the REPL, so restart into it
                self.event("sigint_restart", None)
                typed = self.console.pending_input()
                self._stop()
                self._start(self.reset_cause, "repl", typed)
            else:
                self.event("panic", rc)
                self.console.emit(b"\r\nsim: chip died (signal %d): hard reset\r\n" % -rc)
                self._restart(HARD)
        if self.chip is not None and self.wdt.expired(now):
            self.event("wdt_fire", (self.wdt.timeout, self.wdt.last_feed))
            self._restart(WDT)
        if self._wake_at is not None and now >= self._wake_at and self.powered and self.chip is None:
            self._wake_at = None
            self._start(DEEPSLEEP)
        for link in list(self.uarts.values()):
            link.tick(now)
        self.i2c.tick(now)
        self.net.tick(now)

    # --- console ------------------------------------------------------------------------------
    def wait_console(self, pattern, timeout=10, since=0):
        """Regex search over the console output since power-on (from byte `since`:
        take it from console_mark() before a reset to see only what follows)."""
        return self.console.wait(pattern, timeout, since)

    def console_mark(self):
        return self.console.mark()

    def console_text(self):
        return self.console.text()

    def exec(self, code, timeout=10):
        """Run code on the chip through the raw REPL (interrupts main.py); its output."""
        if not self.powered or self.chip is None:
            raise SimBoardError("the chip is not running")
        return self.console.raw_exec(code, timeout)

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            self.loop.call(self._power_cut, timeout=10)
        finally:
            self.link.close()
            self.uart_server.close()
            self.console.close()
            self.loop.close()
            _LIVE.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@atexit.register
def _close_all():
    for b in list(_LIVE):
        try:
            b.close()
        except (OSError, RuntimeError, TimeoutError):
            pass
