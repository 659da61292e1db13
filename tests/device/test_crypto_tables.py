# ed25519.small_tables(): the width-2 tables the OTA manifest check uses give the same
# verdicts as the default tables, in less heap, and switching back and forth is safe.
import gc
from binascii import unhexlify as u

import ed25519
from test_crypto import RFC8032


def teardown():
    ed25519.small_tables(False)


def _verdicts():
    out = []
    for pub, msg, sig in RFC8032:
        pub, msg, sig = u(pub), u(msg), u(sig)
        bad = bytearray(sig)
        bad[5] ^= 0x10
        other = bytearray(msg or b"\x00")
        other[0] ^= 1
        out += [ed25519.verify(pub, msg, sig), ed25519.verify(pub, msg, bytes(bad)), ed25519.verify(pub, bytes(other), sig)]
    return out


def test_small_tables_give_the_same_verdicts():
    ed25519.small_tables(False)
    big = _verdicts()
    ed25519.small_tables()
    small = _verdicts()
    assert big == small
    assert big[0::3] == [True] * len(RFC8032) and not any(big[1::3]) and not any(big[2::3])
    ed25519.small_tables(False)
    assert _verdicts() == big


def _table_heap():
    pub, msg, sig = (u(x) for x in RFC8032[3])
    ed25519._keys.clear()
    ed25519._base = None
    gc.collect()
    before = gc.mem_alloc()
    assert ed25519.verify(pub, msg, sig)
    gc.collect()
    return gc.mem_alloc() - before


def test_small_tables_take_less_heap():
    ed25519.small_tables(False)
    big = _table_heap()
    ed25519.small_tables()
    small = _table_heap()
    assert small * 3 < big, (small, big)
