"""OCPP message ids, unique over every CALL this charge point ever sends (OCPP-J 1.6 errata
3.1: unique on any connection of the id, across reconnects and reboots).

"<boot>.<n>": a boot counter kept on flash (one atomic write when OCPP starts) and a counter
of this boot. Transaction messages have their own form from the journalled queue
("T<seq>", "T<seq>.<k>" after k CALLERRORs, txq.py), which a retransmission after a
timeout, a reconnect or a power cut keeps (the errata allow it; it lets a CSMS see a
duplicate). The two forms never meet.
"""
import fsatomic

PATH = "/data/ocpp/ids.json"


class Ids:
    def __init__(self, path=PATH):
        self.path = path
        try:
            d = fsatomic.read_json(path, None)
            boot = d["boot"] if isinstance(d, dict) and type(d.get("boot")) is int else 0
        except (fsatomic.Corrupt, OSError):
            import random

            # a damaged file: counting again from 1 would repeat ids, so jump far, at random
            boot = (1 << 20) + random.getrandbits(20)
        self.boot = boot + 1
        fsatomic.mkdirs(path[: path.rfind("/")])
        fsatomic.write_json(path, {"boot": self.boot})
        self.n = 0

    def next(self):
        self.n += 1
        return "%d.%d" % (self.boot, self.n)
