"""NXP PN532 13.56 MHz reader module on its HSU (UART, 115200 8N1), as the card reader of
the pile's front (firmware/front/pn532.py drives it). Cards are placed and removed by the
test (`tap`, `present`, `remove`).

From the PN532 User Manual (UM0701-02 Rev. 02): section 6.2.1 frames -- normal information
frame 00 00 FF LEN LCS TFI PD.. DCS 00 (LEN+LCS = 0, TFI+PD+DCS = 0 mod 256, TFI D4 host to
PN532, D5 back), extended frame 00 00 FF FF FF LENM LENL LCS, ACK 00 00 FF 00 FF 00, NACK
00 00 FF FF 00 00, application error frame 00 00 FF 01 FF 7F 81 00; 6.2.2 dialog -- every
valid command is acknowledged at once, the response follows when ready, a host ACK aborts
the command under way, a host NACK asks for the last response again, a frame whose LCS or
DCS is wrong is ignored (the host sees no ACK); 7.2.11 HSU wake-up -- after power-on the
PN532 sleeps (LowVbat) and wakes on a 0x55 byte, losing what arrives during the oscillator
start (T_osc_start, ~2 ms): hosts send 55 55 00 00 ... then SAMConfiguration; 7.2.1/7.3.x
commands -- GetFirmwareVersion (02: IC 0x32, Ver 1, Rev 6, Support 7), SAMConfiguration
(14, mode 1-4), RFConfiguration (32; CfgItem 5 = MxRtyATR, MxRtyPSL,
MxRtyPassiveActivation, whose default 0xFF retries forever: without it InListPassiveTarget
waits until a card comes), InListPassiveTarget (4A, MaxTg 1-2, BrTy 0 = 106 kbps type A:
answer 4B NbTg [Tg SENS_RES(2) SEL_RES NFCIDLength NFCID1]; a MIFARE Classic 1K (M1/S50)
answers SENS_RES 00 04, SEL_RES 08 and a 4-byte NFCID1), InRelease (52).
A card left on the reader is found again by every InListPassiveTarget (the firmware
debounces the repeats). Unknown commands or bad parameters get the error frame.
"""
import threading

from upile.sim.peers import Peer

ACK = b"\x00\x00\xff\x00\xff\x00"
NACK = b"\x00\x00\xff\xff\x00\x00"
ERROR = b"\x00\x00\xff\x01\xff\x7f\x81\x00"
_TRY_S = 0.03  # one passive activation attempt (REQA/anticollision round) in the model
_OSC_S = 0.002


def frame(payload):
    """A normal information frame from the PN532 (TFI D5) around `payload`."""
    data = b"\xd5" + bytes(payload)
    n = len(data)
    return bytes((0, 0, 0xFF, n, (-n) & 0xFF)) + data + bytes(((-sum(data)) & 0xFF, 0))


class Card:
    def __init__(self, uid, atqa=b"\x00\x04", sak=0x08):
        self.uid = bytes(uid)
        self.atqa = bytes(atqa)
        self.sak = sak


class PN532Peer(Peer):
    baud = 115200

    def __init__(self):
        self.lock = threading.Lock()
        self.card = None
        self._remove_at = None
        self._in = bytearray()
        self._out = bytearray()
        self.asleep = True
        self._wake_at = None
        self.sam = False
        self.retries = 0xFF  # MxRtyPassiveActivation
        self._pending = None  # (command bytes, ready_at, tries_left)
        self._last = None  # last response frame (for a NACK)
        self.commands = []  # command codes received, in order (tests)
        self.bad_frames = 0
        self.now = 0.0

    # ---- the test's hand
    def present(self, uid, atqa=b"\x00\x04", sak=0x08):
        with self.lock:
            self.card = Card(uid, atqa, sak)
            self._remove_at = None

    def remove(self):
        with self.lock:
            self.card = None

    def tap(self, uid, hold_s=0.6, **kw):
        """Hold a card on the reader for hold_s, then take it away."""
        self.present(uid, **kw)
        with self.lock:
            self._remove_at = self.now + hold_s

    # ---- the wire
    def on_power(self, on):
        with self.lock:
            self.asleep = True
            self.sam = False
            self.retries = 0xFF
            self._pending = None
            self._in.clear()
            self._out.clear()

    def on_rx(self, data):
        with self.lock:
            for b in data:
                if self.asleep:
                    if b == 0x55:
                        self.asleep = False
                        self._wake_at = self.now + _OSC_S
                    continue
                if self._wake_at is not None and self.now < self._wake_at:
                    continue  # the oscillator is still starting: the byte is lost
                self._in.append(b)
            self._parse()

    def _parse(self):
        buf = self._in
        while True:
            i = buf.find(b"\x00\xff")
            if i < 0:
                del buf[: max(0, len(buf) - 1)]
                return
            del buf[:i]
            if len(buf) < 4:
                return
            ln, lcs = buf[2], buf[3]
            if ln == 0x00 and lcs == 0xFF:  # ACK from the host: abort the command under way
                del buf[:4]
                self._pending = None
                continue
            if ln == 0xFF and lcs == 0x00:  # NACK: send the last response again
                del buf[:4]
                if self._last:
                    self._out += self._last
                continue
            if ln == 0xFF and lcs == 0xFF:  # extended frame
                if len(buf) < 7:
                    return
                ln, lcs, hdr = buf[4] << 8 | buf[5], buf[6], 7
                ok_len = (buf[4] + buf[5] + lcs) & 0xFF == 0
            else:
                hdr = 4
                ok_len = (ln + lcs) & 0xFF == 0
            if not ok_len or ln == 0:
                self.bad_frames += 1
                del buf[:2]  # not a frame: look for the next start code
                continue
            if len(buf) < hdr + ln + 1:
                return
            data = bytes(buf[hdr: hdr + ln])
            dcs = buf[hdr + ln]
            del buf[: hdr + ln + 1]
            if (sum(data) + dcs) & 0xFF or data[0] != 0xD4 or len(data) < 2:
                self.bad_frames += 1  # wrong checksum or direction: ignored, no ACK
                continue
            self._out += ACK
            self._command(data[1:])

    def _command(self, cmd):
        code = cmd[0]
        self.commands.append(code)
        if code == 0x02:
            self._answer(b"\x03\x32\x01\x06\x07")
        elif code == 0x14:
            if len(cmd) < 2 or not 1 <= cmd[1] <= 4:
                self._error()
            else:
                self.sam = True
                self._answer(b"\x15")
        elif code == 0x32:
            if len(cmd) >= 5 and cmd[1] == 0x05:
                self.retries = cmd[4]
                self._answer(b"\x33")
            elif len(cmd) >= 3 and cmd[1] in (0x01, 0x02, 0x04):
                self._answer(b"\x33")
            else:
                self._error()
        elif code == 0x4A:
            if len(cmd) < 3 or cmd[1] not in (1, 2):
                self._error()
            else:
                tries = None if self.retries == 0xFF else self.retries + 1
                self._pending = (bytes(cmd), self.now + _TRY_S, tries if cmd[2] == 0 else 1, cmd[2])
        elif code == 0x52:
            self._answer(b"\x53\x00")
        else:
            self._error()

    def _answer(self, payload):
        f = frame(payload)
        self._last = f
        self._out += f

    def _error(self):
        self._last = ERROR
        self._out += ERROR

    def poll(self, now):
        with self.lock:
            self.now = now
            if self._remove_at is not None and now >= self._remove_at:
                self.card = None
                self._remove_at = None
            p = self._pending
            if p is not None and now >= p[1]:
                cmd, _, tries, brty = p
                c = self.card
                if brty == 0 and c is not None:
                    self._pending = None
                    self._answer(b"\x4b\x01\x01" + c.atqa + bytes((c.sak, len(c.uid))) + c.uid)
                elif tries is not None and tries <= 1:
                    self._pending = None
                    self._answer(b"\x4b\x00")
                else:
                    self._pending = (cmd, now + _TRY_S, None if tries is None else tries - 1, brty)
            if not self._out:
                return None
            out = bytes(self._out)
            self._out.clear()
            return out
