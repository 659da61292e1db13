"""50 power cuts at random instants while the chip writes files: every power-on comes up,
the console answers real mpremote, and the littlefs filesystem mounts (3 boards at once)."""
import random
import time
from concurrent.futures import ThreadPoolExecutor

from simkit import board, mpremote

# like firmware, the loop yields (1 ms) each round: the console hands a Ctrl-C over there
# (see upile.sim.console on why the sim chip cannot take one in the middle of a flash write)
WRITER = b"""
import os
import time
n = 0
try:
    n = int(open('/count').read())
except (OSError, ValueError):
    pass
print('mounted, count', n)
while True:
    n += 1
    with open('/data%d.bin' % (n % 4), 'wb') as f:
        f.write(bytes(n % 256 for _ in range(3000)))
    with open('/count.tmp', 'w') as f:
        f.write(str(n))
    os.rename('/count.tmp', '/count')
    time.sleep_ms(1)
"""


def _cuts(seed, cuts):
    rng = random.Random(seed)
    answered = 0
    with board(main=WRITER) as b:
        b.wait_console("mounted, count 0")
        for i in range(cuts):
            # the random instant is the test: main.py is in its write loop (it printed
            # "mounted"), and the cut may land anywhere in it, however slow the machine
            time.sleep(rng.uniform(0.0, 0.25))
            b.power_cut()
            b.power_on()
            b.wait_console(r"mounted, count \d+", timeout=20)
            r = mpremote(b.console_port, "resume", "exec", "import os; print(sorted(os.listdir('/'))[:1])")
            assert r.returncode == 0, (r.stdout, r.stderr[-200:], b.console_text()[-3000:])
            assert "['boot.py']" in r.stdout, r.stdout
            answered += 1
            mark = b.console_mark()
            b.console.loop.call(b.console.to_chip, b"\x04")  # Ctrl-D: soft reboot, main.py writes again
            b.wait_console(r"soft reboot(.|\r|\n)*mounted, count \d+", timeout=20, since=mark)
        return answered


def test_fifty_power_cuts_while_writing_files():
    with ThreadPoolExecutor(3) as ex:
        results = list(ex.map(_cuts, [1, 2, 3], [17, 17, 16]))
    assert sum(results) == 50
