"""One-time 6-digit start codes typed on the keypad with their port, checked offline:
- issued by the back end (station.issue_code(): a code, its port or 0 for any, its budget,
  an expiry), kept in a journal until used or expired;
- or derived: HMAC-SHA256(front.code_secret, "<pile id>|<port>|<window>") truncated to 6
  digits as HOTP does (RFC 4226 5.3), window = unix time // 3600. The back end
  computes the same code for the customer, so a pile that lost its link still checks it; a
  code is good in its window and the next (an app may show it at the end of a window).
Every code is used once: the use is journalled (durable) before the session starts, so a
replay after a power cut is refused too.
"""
import hashlib

from journal import Journal

_KEEP_BYTES = 8192  # compact the journal beyond this
WINDOW_S = 3600  # a derived code's time window: an hour (and the next)


def hmac_sha256(key, msg):
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    k = bytearray(64)
    k[: len(key)] = key
    for i in range(64):
        k[i] ^= 0x36
    inner = hashlib.sha256(k)
    inner.update(msg)
    d = inner.digest()
    for i in range(64):
        k[i] ^= 0x36 ^ 0x5C
    outer = hashlib.sha256(k)
    outer.update(d)
    return outer.digest()


def derive(secret, pile_id, port, window):
    """The code of (pile, port, window) as 6 digits."""
    h = hmac_sha256(secret, ("%s|%d|%d" % (pile_id, port, window)).encode())
    o = h[-1] & 0x0F
    v = ((h[o] & 0x7F) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]
    return "%06d" % (v % 1000000)


class CodeError(Exception):
    """args[0]: code_bad, code_used, code_port, code_time."""


class Codes:
    def __init__(self, cfg, now, path="/data/front/codes.jnl"):
        f = cfg["front"]
        self.pile = cfg["pile"]["id"]
        self.secret = bytes.fromhex(f["code_secret"]) if f["code_secret"] else None
        self.window = WINDOW_S
        self.windows = 1  # a code shown near the end of its window still works in the next
        self.budget = ("full", 0)  # a derived code carries no amount: it charges until full
        self.now = now  # fn() -> unix seconds or None
        self.j = Journal(path, 128)
        self._last = None

    def issue(self, code, port=0, kind="full", amount=0, expires=0):
        """Store a code the back end issued (port 0: any port; expires: unix, 0 = never)."""
        if type(code) is not str or len(code) != 6 or not code.isdigit():
            raise ValueError("a code is 6 digits")
        self.j.append("I %s %d %s %d %d" % (code, port, kind, amount, expires or 0))
        self._compact()

    def _scan(self, code):
        """(issued record or None, used keys) for this code from the journal."""
        issued, used = None, []
        for rec in self.j.records():
            w = rec.decode().split()
            if len(w) >= 3 and w[1] == code:
                if w[0] == "I":
                    issued = w
                elif w[0] == "U":
                    used.append(w[2] + " " + w[3])
                elif w[0] == "X" and (w[2] + " " + w[3]) in used:
                    used.remove(w[2] + " " + w[3])  # released: the start it was for was refused
        return issued, used

    def check(self, port, code):
        """Use `code` for `port`: (kind, amount) of the budget it buys, journalled as used.
        Raises CodeError with the reason otherwise."""
        if len(code) != 6 or not code.isdigit():
            raise CodeError("code_bad")
        now = self.now()
        issued, used = self._scan(code)
        if issued is not None:
            iport, exp = int(issued[2]), int(issued[5])
            if iport and iport != port:
                raise CodeError("code_port")
            if any(u.endswith(" i") for u in used):
                raise CodeError("code_used")
            if exp:
                if now is None:
                    raise CodeError("code_time")
                if now >= exp:
                    raise CodeError("code_bad")
            self._use(code, "%d i" % iport)
            return issued[3], int(issued[4])
        if self.secret is None:
            raise CodeError("code_bad")
        if now is None:
            raise CodeError("code_time")
        w0 = now // self.window
        for w in range(w0, w0 - self.windows - 1, -1):
            if derive(self.secret, self.pile, port, w) == code:
                if ("%d %d" % (port, w)) in used:
                    raise CodeError("code_used")
                self._use(code, "%d %d" % (port, w))
                self._compact()
                return self.budget
        raise CodeError("code_bad")

    def _use(self, code, key):
        self.j.append("U %s %s" % (code, key))  # durable before the session starts
        self._last = (code, key)

    def release(self, port, code):
        """The start a code was just used for was refused: the code is good again."""
        if self._last is not None and self._last[0] == code:
            self.j.append("X %s %s" % self._last)
            self._last = None

    def _compact(self):
        if self.j.size() < _KEEP_BYTES:
            return
        now = self.now()
        oldest = (now // self.window - self.windows - 1) if now is not None else None
        spent = set()
        for rec in self.j.records():
            w = rec.decode().split()
            if w[0] == "U" and w[3] == "i":
                spent.add(w[1])
            elif w[0] == "X" and w[3] == "i":
                spent.discard(w[1])

        def keep(rec):
            w = rec.decode().split()
            if w[0] == "I":
                exp = int(w[5])
                return w[1] not in spent and not (exp and now is not None and now >= exp)
            if w[3] == "i":
                return False  # its issue record goes too: the code is gone for good
            return oldest is None or int(w[3]) >= oldest

        self.j.compact(keep)
