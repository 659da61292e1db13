# heapsize: 256K
# The billing store on littlefs (the device's filesystem): listing a few pending bills out
# of many, again and again for months, must not leave journal files open. An open littlefs
# file stays on the filesystem's list of open files (so the collector never frees it) and
# every commit walks that list.
import gc
import json

from firmware.board.sim import SimFlash, mount
from firmware.charging.store import Store
from storage_helpers import rmtree, tmpdir, unmount


def _store():
    unmount("/fl")
    path = tmpdir() + "/handles.bin"
    rmtree(path)
    mount(SimFlash(path, 256 * 1024), "/fl")
    st = Store("/fl/bills.jnl", compact_bytes=1 << 20)
    for sid in range(1, 9):  # eight pending bills
        st.stop({"k": "x", "id": sid, "p": 1, "fen": sid})
    return st


def teardown():
    unmount("/fl")


def test_listing_a_few_of_many_bills_leaves_no_file_open():
    st = _store()
    assert [b["id"] for b in st.bills(3)] == [1, 2, 3]
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(200):
        assert [b["id"] for b in st.bills(2)] == [1, 2]
    gc.collect()
    assert gc.mem_alloc() - before < 4096, gc.mem_alloc() - before


def test_a_stream_stopped_early_closes_its_file():
    st = _store()
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(200):
        it = st.each_bill()
        assert next(it)["id"] == 1
        it.close()
    gc.collect()
    assert gc.mem_alloc() - before < 4096, gc.mem_alloc() - before
    st.ack(1)  # the journal still takes writes and reads back as written
    assert json.loads(json.dumps([b["id"] for b in st.bills(50)])) == list(range(2, 9))
