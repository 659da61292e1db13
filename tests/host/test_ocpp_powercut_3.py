"""Power cuts, part 3 of 3: boards PC5 and PC6 (seeds 1005, 1006), 70 SIGKILLs at random
instants across starts, meter values, offline periods and stops; the three files make 210
(tests/host/ocpppowercut.py says what is checked)."""
# long: 100 s (started first by tests/conftest.py, so it is not the suite's tail)
from ocpppowercut import CUTS, run_boards


def test_power_cuts_every_session_reaches_the_csms_exactly_once_boards_5_6():
    kills, sessions, txs, reasons = run_boards([(5, 1005), (6, 1006)])
    assert kills == 2 * CUTS
    assert txs >= 20 and "PowerLoss" in reasons and len(reasons) >= 3  # the cuts hit real work
