"""SHA-512 compression in @micropython.viper, on 32-bit halves.

Imported only by sha512.py (which falls back to plain ints when this cannot load). Each
64-bit word is a (hi, lo) pair of uint32; every value is masked to 32 bits so the same code
is right on the 64-bit sim (x64) and the 32-bit ESP32 (xtensawin). A carry out of a 32-bit
add is computed from bits, not from a 64-bit sum or an unsigned compare, for the same reason.
"""
import array
import struct

import micropython

from sha512 import _KB

# Round constants as 160 uint32: hi, lo, hi, lo...
_KA = array.array("I", struct.unpack(">160I", _KB))
_W = array.array("I", bytes(640))  # message schedule, reused (compress never yields)


def new_state(iv):
    return array.array("I", struct.unpack(">16I", struct.pack(">8Q", *iv)))


def copy_state(st):
    return array.array("I", st)


def digest(st):
    return struct.pack(">16I", *st)


@micropython.viper
def _compress(st: ptr32, blk: ptr8, w: ptr32, k: ptr32):
    m = uint(0xFFFFFFFF)
    # W[0..15] from the big-endian block
    t = 0
    while t < 32:
        j = t * 4
        w[t] = (uint(blk[j]) << 24) | (uint(blk[j + 1]) << 16) | (uint(blk[j + 2]) << 8) | uint(blk[j + 3])
        t += 1
    # W[16..79] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]
    t = 32
    while t < 160:
        xh = uint(w[t - 30])
        xl = uint(w[t - 29])
        s0h = ((xh >> 1) | (xl << 31)) ^ ((xh >> 8) | (xl << 24)) ^ (xh >> 7)
        s0l = ((xl >> 1) | (xh << 31)) ^ ((xl >> 8) | (xh << 24)) ^ ((xl >> 7) | (xh << 25))
        xh = uint(w[t - 4])
        xl = uint(w[t - 3])
        s1h = ((xh >> 19) | (xl << 13)) ^ ((xl >> 29) | (xh << 3)) ^ (xh >> 6)
        s1l = ((xl >> 19) | (xh << 13)) ^ ((xh >> 29) | (xl << 3)) ^ ((xl >> 6) | (xh << 26))
        # sum of four 64-bit words, low halves first
        rh = uint(w[t - 32])
        rl = uint(w[t - 31])
        yh = s0h & m
        yl = s0l & m
        sl = (rl + yl) & m
        rh = rh + yh + (((rl & yl) | ((rl | yl) & ~sl)) >> 31)
        rl = sl
        yh = uint(w[t - 14])
        yl = uint(w[t - 13])
        sl = (rl + yl) & m
        rh = rh + yh + (((rl & yl) | ((rl | yl) & ~sl)) >> 31)
        rl = sl
        yh = s1h & m
        yl = s1l & m
        sl = (rl + yl) & m
        rh = rh + yh + (((rl & yl) | ((rl | yl) & ~sl)) >> 31)
        w[t] = rh & m
        w[t + 1] = sl
        t += 2
    ah = uint(st[0]); al = uint(st[1]); bh = uint(st[2]); bl = uint(st[3])
    ch = uint(st[4]); cl = uint(st[5]); dh = uint(st[6]); dl = uint(st[7])
    eh = uint(st[8]); el = uint(st[9]); fh = uint(st[10]); fl = uint(st[11])
    gh = uint(st[12]); gl = uint(st[13]); hh = uint(st[14]); hl = uint(st[15])
    t = 0
    while t < 160:
        # t1 = h + S1(e) + Ch(e,f,g) + K[t] + W[t]
        yh = (((eh >> 14) | (el << 18)) ^ ((eh >> 18) | (el << 14)) ^ ((el >> 9) | (eh << 23))) & m
        yl = (((el >> 14) | (eh << 18)) ^ ((el >> 18) | (eh << 14)) ^ ((eh >> 9) | (el << 23))) & m
        sl = (hl + yl) & m
        rh = hh + yh + (((hl & yl) | ((hl | yl) & ~sl)) >> 31)
        rl = sl
        yh = (eh & fh) ^ (~eh & gh) & m
        yl = ((el & fl) ^ (~el & gl)) & m
        sl = (rl + yl) & m
        rh = rh + yh + (((rl & yl) | ((rl | yl) & ~sl)) >> 31)
        rl = sl
        yh = uint(k[t])
        yl = uint(k[t + 1])
        sl = (rl + yl) & m
        rh = rh + yh + (((rl & yl) | ((rl | yl) & ~sl)) >> 31)
        rl = sl
        yh = uint(w[t])
        yl = uint(w[t + 1])
        sl = (rl + yl) & m
        t1h = (rh + yh + (((rl & yl) | ((rl | yl) & ~sl)) >> 31)) & m
        t1l = sl
        # t2 = S0(a) + Maj(a,b,c)
        rh = (((ah >> 28) | (al << 4)) ^ ((al >> 2) | (ah << 30)) ^ ((al >> 7) | (ah << 25))) & m
        rl = (((al >> 28) | (ah << 4)) ^ ((ah >> 2) | (al << 30)) ^ ((ah >> 7) | (al << 25))) & m
        yh = (ah & bh) ^ (ah & ch) ^ (bh & ch)
        yl = (al & bl) ^ (al & cl) ^ (bl & cl)
        sl = (rl + yl) & m
        rh = rh + yh + (((rl & yl) | ((rl | yl) & ~sl)) >> 31)
        rl = sl
        hh = gh; hl = gl; gh = fh; gl = fl; fh = eh; fl = el
        # e = d + t1
        sl = (dl + t1l) & m
        eh = (dh + t1h + (((dl & t1l) | ((dl | t1l) & ~sl)) >> 31)) & m
        el = sl
        dh = ch; dl = cl; ch = bh; cl = bl; bh = ah; bl = al
        # a = t1 + t2
        sl = (t1l + rl) & m
        ah = (t1h + rh + (((t1l & rl) | ((t1l | rl) & ~sl)) >> 31)) & m
        al = sl
        t += 2
    # add into the state
    i = 0
    while i < 16:
        if i == 0:
            yh = ah; yl = al
        elif i == 2:
            yh = bh; yl = bl
        elif i == 4:
            yh = ch; yl = cl
        elif i == 6:
            yh = dh; yl = dl
        elif i == 8:
            yh = eh; yl = el
        elif i == 10:
            yh = fh; yl = fl
        elif i == 12:
            yh = gh; yl = gl
        else:
            yh = hh; yl = hl
        rl = uint(st[i + 1])
        sl = (rl + yl) & m
        st[i] = (uint(st[i]) + yh + (((rl & yl) | ((rl | yl) & ~sl)) >> 31)) & m
        st[i + 1] = sl
        i += 2


def compress(st, block):
    _compress(st, block, _W, _KA)
