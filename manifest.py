# Frozen manifest for a uPile production image: MicroPython's ESP32_GENERIC board, OTA variant.
#   make -C ports/esp32 BOARD=ESP32_GENERIC BOARD_VARIANT=OTA FROZEN_MANIFEST=/abs/path/upile/manifest.py
# (docs/production.md). Relative paths below are relative to this file, as in every manifest.
#
# Frozen modules are the image's own copy of lib/ and firmware/: the app a board runs when no
# slot is usable. Which copy wins is decided by sys.path order: at boot it is
# ['', '.frozen', '/lib'] and lib/bootchoice puts the active slot where '.frozen' stands, giving
# ['', '/slots/X', '/slots/X/lib', '.frozen', '/lib']: a module shipped in the slot (OTA or
# `upile deploy`) wins over its frozen copy, so freezing firmware/ never blocks an app update
# (docs/production.md, "Frozen modules and slot files").
import os

# The port's own frozen modules (_boot, flashbdev, inisetup, asyncio, ...): a custom manifest
# must include them or the board loses its filesystem set-up.
include("$(PORT_DIR)/boards/manifest.py")

_HERE = os.getcwd()  # makemanifest runs a manifest from its own folder

# lib/: our libraries (fsatomic, journal, log, sha512, ed25519, dsse, http, bootstate...).
for _name in sorted(os.listdir(os.path.join(_HERE, "lib"))):
    if _name.endswith(".py"):
        module(_name, base_path=os.path.join(_HERE, "lib"), opt=1)

# firmware/: the app package (the sim chip's flash is chip/simflash.py, outside it).
_files = []
for _root, _dirs, _names in os.walk(os.path.join(_HERE, "firmware")):
    _dirs.sort()
    for _n in sorted(_names):
        if _n.endswith(".py"):
            _files.append(os.path.relpath(os.path.join(_root, _n), os.path.join(_HERE, "firmware")))
package("firmware", files=_files, base_path=_HERE, opt=1)
