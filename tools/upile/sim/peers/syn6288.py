"""SYN6288 Chinese text-to-speech module on a UART (9600 8N1): the pile's voice.

The frame, from the module's data sheet (Beijing Yutone, SYN6288 2010-02) as public
drivers implement it (Mixly's MicroPython syn6288 library, the Arduino SYN6288 classes, a
C++ notifier with captured stop/query frames FD 00 02 02 FD and FD 00 02 21 DE):
  FD | length (2 bytes, high first: command + parameter + text + check) | command |
  parameter | text (at most 200 bytes) | check = XOR of every byte from FD on.
Command 01 speaks: parameter bits 7-3 = background music (0 none), bits 2-0 = the text's
encoding (0 GB2312, 1 GBK, 2 BIG5, 3 UNICODE, high byte first as Mixly's driver sends it).
02 stop, 03 pause, 04 resume, 21 status query, 88 power down, 31 baud rate.
Answers (one byte): 4A once initialised after power-on, 41 frame received and accepted,
45 frame not understood (bad header, length, check, command or encoding), 4E busy / 4F
idle to a status query, and 4F when a synthesis finishes.
Text marks: [vN] volume 0-16, [tN] speed 0-5, [mN] background volume 0-16.
A new synthesis while one is playing cuts the one playing: a driver must wait for idle
(the module's BUSY pin, the query, or the 4F at the end), and this emulator records every
cut. Speaking time is modelled (`char_s` per character).
"""
import threading

from upile.sim.peers import Peer

_ENC = {0: "gb2312", 1: "gbk", 2: "big5", 3: "utf-16-be"}


class Utterance:
    def __init__(self, text, volume, encoding, t0, dur):
        self.text = text  # decoded, marks removed
        self.raw = text
        self.volume = volume
        self.encoding = encoding
        self.t0 = t0
        self.t_end = t0 + dur
        self.cut = False

    def __repr__(self):
        return "Utterance(%r v%s%s)" % (self.text, self.volume, " cut" if self.cut else "")


def xor(data):
    x = 0
    for b in data:
        x ^= b
    return x


def speak_frame(text, encoding=3, music=0):
    """The frame a correct driver sends (for tests of the emulator itself)."""
    body = text.encode(_ENC[encoding])
    head = bytes((0xFD,)) + (len(body) + 3).to_bytes(2, "big") + bytes((0x01, (music << 3) | encoding))
    f = head + body
    return f + bytes((xor(f),))


class SYN6288Peer(Peer):
    baud = 9600

    def __init__(self, char_s=0.05, boot_s=0.3):
        self.lock = threading.Lock()
        self.char_s = char_s  # seconds per spoken character (the real module: ~0.2)
        self.boot_s = boot_s
        self.spoken = []  # Utterance, in order
        self.answers = bytearray()  # every byte the module sent
        self.rejected = 0  # frames answered 45
        self.volume = 16
        self._buf = bytearray()
        self._out = bytearray()
        self._boot_at = None
        self._cur = None
        self._paused = False
        self.now = 0.0

    def on_power(self, on):
        with self.lock:
            self._buf.clear()
            self._cur = None
            self._boot_at = -1.0 if on else None  # dated at the next poll

    def busy(self):
        with self.lock:
            return self._cur is not None

    def texts(self):
        with self.lock:
            return [u.text for u in self.spoken]

    def _send(self, b):
        self._out.append(b)
        self.answers.append(b)

    def on_rx(self, data):
        with self.lock:
            self._buf += data
            self._parse()

    def _parse(self):
        buf = self._buf
        while buf:
            if buf[0] != 0xFD:
                # not a frame head: the module answers 45 once per stray run and resyncs
                i = buf.find(b"\xfd")
                del buf[: i if i >= 0 else len(buf)]
                self.rejected += 1
                self._send(0x45)
                continue
            if len(buf) < 3:
                return
            n = buf[1] << 8 | buf[2]
            if n < 2 or n > 203:
                del buf[:1]
                self.rejected += 1
                self._send(0x45)
                continue
            if len(buf) < 3 + n:
                return
            f = bytes(buf[: 3 + n])
            del buf[: 3 + n]
            if xor(f[:-1]) != f[-1]:
                self.rejected += 1
                self._send(0x45)
                continue
            self._frame(f[3], f[4:-1])

    def _frame(self, cmd, body):
        if cmd == 0x01:
            if not body or (body[0] & 7) not in _ENC:
                self.rejected += 1
                self._send(0x45)
                return
            enc = _ENC[body[0] & 7]
            try:
                text = body[1:].decode(enc)
            except UnicodeDecodeError:
                self.rejected += 1
                self._send(0x45)
                return
            self._send(0x41)
            self._speak(text, enc)
        elif cmd == 0x02:
            self._send(0x41)
            if self._cur is not None:
                self._cur.cut = True
                self._cur = None
        elif cmd in (0x03, 0x04):
            self._send(0x41)
            self._paused = cmd == 0x03
        elif cmd == 0x21:
            self._send(0x4E if self._cur is not None else 0x4F)
        elif cmd in (0x88, 0x31):
            self._send(0x41)
        else:
            self.rejected += 1
            self._send(0x45)

    def _speak(self, text, enc):
        plain, vol = [], self.volume
        i = 0
        while i < len(text):  # strip the marks, keep the volume
            if text[i] == "[":
                j = text.find("]", i)
                if j > i + 1:
                    mark = text[i + 1: j]
                    if mark[0] == "v" and mark[1:].isdigit() and int(mark[1:]) <= 16:
                        vol = self.volume = int(mark[1:])
                    i = j + 1
                    continue
            plain.append(text[i])
            i += 1
        plain = "".join(plain)
        if self._cur is not None and self.now < self._cur.t_end:
            self._cur.cut = True  # a new synthesis cuts the one playing
        u = Utterance(plain, vol, enc, self.now, 0.05 + self.char_s * len(plain))
        self._cur = u
        self.spoken.append(u)

    def poll(self, now):
        with self.lock:
            self.now = now
            if self._boot_at == -1.0:
                self._boot_at = now + self.boot_s
            if self._boot_at is not None and now >= self._boot_at:
                self._boot_at = None
                self._send(0x4A)
            u = self._cur
            if u is not None and not self._paused and now >= u.t_end:
                self._cur = None
                self._send(0x4F)  # synthesis finished
            if not self._out:
                return None
            out = bytes(self._out)
            self._out.clear()
            return out
