"""SHA-512 compression as native code (@micropython.viper), for lib/sha512.py only.

Load it once and keep it: sha512 imports it, and nothing may drop it (see below).
"""
# ~50x faster than sha512's plain ints here, and no big int is allocated: on an ESP32 each
# 64-bit word of the plain version is a big int (small ints are 31-bit there). sha512 falls
# back to plain ints when this cannot load (CPython, a port without native code, an .mpy of
# another arch, no executable RAM left).
# Native code loaded from a .mpy is never freed: the Unix port keeps a heap record of each
# mapping, an ESP32 copies the code into IRAM until the next soft reset. So a module dropped
# and imported again leaks each time; firmware.ota.CHECK_CODE drops sha512 after every check,
# never this (tests/device/test_crypto_reload.py). Kept, it costs ~0.3 KB of heap here.
# Each 64-bit word is a hi, lo pair of 32-bit halves, and every value is masked to 32 bits
# before it is shifted right or compared, so the same code is right where a native int is
# 64-bit (the x64 sim) and 32-bit (xtensawin, the ESP32); carries come from bits, not from a
# wider sum.
import micropython


@micropython.viper
def compress(st: ptr8, blk: ptr8, w: ptr32, k: ptr8):
    """FIPS 180-4 6.4.2 on one 128-byte block; st (64 bytes, big-endian words) in place."""
    # w: 48 uint32 of scratch (the schedule's ring of 16 words, then the working variables
    # a..h); k: the round constants, 640 bytes big-endian.
    m = uint(0xFFFFFFFF)
    i = 0
    while i < 32:  # W[0..15] and a..h from big-endian bytes, as hi, lo halves
        j = i << 2
        w[i] = (uint(blk[j]) << 24) | (uint(blk[j + 1]) << 16) | (uint(blk[j + 2]) << 8) | uint(blk[j + 3])
        if i < 16:
            w[32 + i] = (uint(st[j]) << 24) | (uint(st[j + 1]) << 16) | (uint(st[j + 2]) << 8) | uint(st[j + 3])
        i += 1
    ah = uint(w[32])
    al = uint(w[33])
    bh = uint(w[34])
    bl = uint(w[35])
    ch = uint(w[36])
    cl = uint(w[37])
    dh = uint(w[38])
    dl = uint(w[39])
    eh = uint(w[40])
    el = uint(w[41])
    fh = uint(w[42])
    fl = uint(w[43])
    gh = uint(w[44])
    gl = uint(w[45])
    hh = uint(w[46])
    hl = uint(w[47])
    t = 0
    while t < 80:
        r = (t & 15) << 1  # W[t] (and W[t-16]) in the ring
        if t > 15:
            # W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]
            j = ((t + 1) & 15) << 1  # W[t-15]
            xh = uint(w[j])
            xl = uint(w[j + 1])
            yh = ((xh >> 1) | (xl << 31)) ^ ((xh >> 8) | (xl << 24)) ^ (xh >> 7)
            yl = ((xl >> 1) | (xh << 31)) ^ ((xl >> 8) | (xh << 24)) ^ ((xl >> 7) | (xh << 25))
            sh = uint(w[r])
            sl = uint(w[r + 1])
            yh &= m
            yl &= m
            zl = (sl + yl) & m
            sh = sh + yh + ((((sl & yl) | ((sl | yl) & ~zl)) >> 31) & 1)
            sl = zl
            j = ((t + 14) & 15) << 1  # W[t-2]
            xh = uint(w[j])
            xl = uint(w[j + 1])
            yh = ((xh >> 19) | (xl << 13)) ^ ((xl >> 29) | (xh << 3)) ^ (xh >> 6)
            yl = ((xl >> 19) | (xh << 13)) ^ ((xh >> 29) | (xl << 3)) ^ ((xl >> 6) | (xh << 26))
            yh &= m
            yl &= m
            zl = (sl + yl) & m
            sh = sh + yh + ((((sl & yl) | ((sl | yl) & ~zl)) >> 31) & 1)
            sl = zl
            j = ((t + 9) & 15) << 1  # W[t-7]
            yh = uint(w[j])
            yl = uint(w[j + 1])
            zl = (sl + yl) & m
            w[r] = (sh + yh + ((((sl & yl) | ((sl | yl) & ~zl)) >> 31) & 1)) & m
            w[r + 1] = zl
        # T1 = h + S1(e) + Ch(e, f, g) + K[t] + W[t]
        yh = (((eh >> 14) | (el << 18)) ^ ((eh >> 18) | (el << 14)) ^ ((el >> 9) | (eh << 23))) & m
        yl = (((el >> 14) | (eh << 18)) ^ ((el >> 18) | (eh << 14)) ^ ((eh >> 9) | (el << 23))) & m
        zl = (hl + yl) & m
        sh = hh + yh + ((((hl & yl) | ((hl | yl) & ~zl)) >> 31) & 1)
        sl = zl
        yh = gh ^ (eh & (fh ^ gh))
        yl = gl ^ (el & (fl ^ gl))
        zl = (sl + yl) & m
        sh = sh + yh + ((((sl & yl) | ((sl | yl) & ~zl)) >> 31) & 1)
        sl = zl
        j = t << 3
        yh = (uint(k[j]) << 24) | (uint(k[j + 1]) << 16) | (uint(k[j + 2]) << 8) | uint(k[j + 3])
        yl = (uint(k[j + 4]) << 24) | (uint(k[j + 5]) << 16) | (uint(k[j + 6]) << 8) | uint(k[j + 7])
        zl = (sl + yl) & m
        sh = sh + yh + ((((sl & yl) | ((sl | yl) & ~zl)) >> 31) & 1)
        sl = zl
        yh = uint(w[r])
        yl = uint(w[r + 1])
        zl = (sl + yl) & m
        sh = (sh + yh + ((((sl & yl) | ((sl | yl) & ~zl)) >> 31) & 1)) & m
        sl = zl
        # T2 = S0(a) + Maj(a, b, c)
        xh = (((ah >> 28) | (al << 4)) ^ ((al >> 2) | (ah << 30)) ^ ((al >> 7) | (ah << 25))) & m
        xl = (((al >> 28) | (ah << 4)) ^ ((ah >> 2) | (al << 30)) ^ ((ah >> 7) | (al << 25))) & m
        yh = (ah & (bh | ch)) | (bh & ch)
        yl = (al & (bl | cl)) | (bl & cl)
        zl = (xl + yl) & m
        xh = (xh + yh + ((((xl & yl) | ((xl | yl) & ~zl)) >> 31) & 1)) & m
        xl = zl
        hh = gh
        hl = gl
        gh = fh
        gl = fl
        fh = eh
        fl = el
        zl = (dl + sl) & m  # e = d + T1
        eh = (dh + sh + ((((dl & sl) | ((dl | sl) & ~zl)) >> 31) & 1)) & m
        el = zl
        dh = ch
        dl = cl
        ch = bh
        cl = bl
        bh = ah
        bl = al
        zl = (sl + xl) & m  # a = T1 + T2
        ah = (sh + xh + ((((sl & xl) | ((sl | xl) & ~zl)) >> 31) & 1)) & m
        al = zl
        t += 1
    w[32] = ah
    w[33] = al
    w[34] = bh
    w[35] = bl
    w[36] = ch
    w[37] = cl
    w[38] = dh
    w[39] = dl
    w[40] = eh
    w[41] = el
    w[42] = fh
    w[43] = fl
    w[44] = gh
    w[45] = gl
    w[46] = hh
    w[47] = hl
    i = 14
    while i >= 0:  # st += a..h, word by word, back to big-endian bytes
        j = i << 2
        xl = (uint(st[j + 4]) << 24) | (uint(st[j + 5]) << 16) | (uint(st[j + 6]) << 8) | uint(st[j + 7])
        xh = (uint(st[j]) << 24) | (uint(st[j + 1]) << 16) | (uint(st[j + 2]) << 8) | uint(st[j + 3])
        yh = uint(w[32 + i])
        yl = uint(w[33 + i])
        zl = (xl + yl) & m
        xh = (xh + yh + ((((xl & yl) | ((xl | yl) & ~zl)) >> 31) & 1)) & m
        st[j] = xh >> 24
        st[j + 1] = (xh >> 16) & 255
        st[j + 2] = (xh >> 8) & 255
        st[j + 3] = xh & 255
        st[j + 4] = zl >> 24
        st[j + 5] = (zl >> 16) & 255
        st[j + 6] = (zl >> 8) & 255
        st[j + 7] = zl & 255
        i -= 2
