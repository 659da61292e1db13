# heapsize: 256K
# The billing store stops reading its journal as soon as it has what it needs, and then
# closes the reader at once: a littlefs file left to the garbage collector's finaliser is
# closed at an arbitrary later moment (on the sim, inside the collector, where the Python
# flash driver cannot run safely; a sim chip crashed that way).
import gc

from chip.simflash import SimFlash, mount
from firmware.charging.store import Store
from storage_helpers import rmtree, tmpdir, unmount


class Watched:
    """The store's journal with its record readers counted as they open and close."""

    def __init__(self, j):
        self.j = j
        self.open = 0

    def records(self):
        recs = self.j.records()
        self.open += 1
        try:
            for r in recs:
                yield r
        finally:
            recs.close()
            self.open -= 1

    def __getattr__(self, name):
        return getattr(self.j, name)


def _store():
    unmount("/fl")
    path = tmpdir() + "/handles.bin"
    rmtree(path)
    mount(SimFlash(path, 256 * 1024), "/fl")
    st = Store("/fl/bills.jnl", compact_bytes=1 << 20)
    for sid in range(1, 9):  # eight pending bills
        st.stop({"k": "x", "id": sid, "p": 1, "fen": sid})
    st.j = Watched(st.j)
    return st


def teardown():
    unmount("/fl")


def test_listing_a_few_of_many_bills_closes_the_journal_reader():
    st = _store()
    gc.disable()  # no finaliser may do it for us
    try:
        assert [b["id"] for b in st.bills(2)] == [1, 2]
        assert st.j.open == 0
        it = st.each_bill()
        assert next(it)["id"] == 1
        assert st.j.open == 1
        it.close()  # a caller that stops early closes the stream...
        assert st.j.open == 0  # ...and with it the journal file
    finally:
        gc.enable()


def test_the_journal_still_reads_and_writes_after_many_early_stops():
    st = _store()
    for _ in range(200):
        assert [b["id"] for b in st.bills(2)] == [1, 2]
    st.ack(1)
    assert [b["id"] for b in st.bills(50)] == list(range(2, 9))
    assert st.j.open == 0
