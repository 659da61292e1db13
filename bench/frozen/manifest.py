# Frozen manifest of the bench's own Unix MicroPython (bench/ocpp.py builds it from a
# MicroPython source tree): the app and the sim chip's modules frozen in, as an ESP32 image
# holds the app frozen (manifest.py at the root) and its machine/network/esp32 in C, so the
# heap holds data, not bytecode. Bench only, never shipped.
import os

include("$(MPY_DIR)/extmod/asyncio")
_HERE = os.getcwd()  # makemanifest runs a manifest from its own folder: bench/frozen
_ROOT = os.path.dirname(os.path.dirname(_HERE))
for _name in sorted(os.listdir(os.path.join(_ROOT, "lib"))):
    if _name.endswith(".py"):
        module(_name, base_path=os.path.join(_ROOT, "lib"), opt=1)
_files = []
for _root, _dirs, _names in os.walk(os.path.join(_ROOT, "firmware")):
    _dirs.sort()
    for _n in sorted(_names):
        if _n.endswith(".py"):
            _files.append(os.path.relpath(os.path.join(_root, _n), os.path.join(_ROOT, "firmware")))
package("firmware", files=_files, base_path=_ROOT, opt=1)
for _name in ("machine.py", "esp32.py", "network.py", "socket.py", "_simlink.py", "_simparts.py", "_simuart.py",
              "simflash.py"):
    module(_name, base_path=os.path.join(_ROOT, "chip"), opt=1)
module("hashlib.py", base_path=_HERE, opt=1)  # SHA-1 for a build without a TLS library
