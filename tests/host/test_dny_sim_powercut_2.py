"""DNY power cuts, boards 3 and 4 of 4 (tests/host/dnypowercut.py): 100 cuts at random instants
while the server starts and stops orders and withholds settlements; every order settled
exactly once with its energy and money. With _1.py: 200 cuts."""
# long: 240 s (started first by tests/conftest.py, so it is not the suite's tail)
from dnypowercut import CUTS, run

SEEDS = (102, 103)  # one board each


def test_a_hundred_power_cuts_every_order_settled_once(tmp_path):
    total, energies = run(tmp_path, SEEDS)
    assert len(SEEDS) * CUTS >= 100
    assert total >= 10, total  # sessions really ran, stopped and were settled across the cuts
    assert sum(1 for e in energies if e > 0) >= 1, energies  # and carried metered energy
