# The OCPP step of tests/host/ota_mem.py, hooked in by tests/host/test_ocpp_fw_memory.py:
# what Ota._attempt does with a back end's signature (opts["signature"]): the envelope's
# digest taken when it arrives, firmware/ota/extsig.py (and rsa or p256) loaded after the
# download for the check, dropped after it. Without /ocpp/ocpp.txt only the harness's cost
# is there (the figures' baseline: the same harness, no OCPP step).


def digest(env):
    """The 32-byte digest the service keeps through the download, or False (no OCPP step)."""
    import os

    try:
        os.stat("/ocpp/ocpp.txt")
    except OSError:
        return False
    import hashlib

    return hashlib.sha256(env).digest()


def check(digest, mark):
    with open("/ocpp/ocpp.txt") as f:
        kind, a, b, sig = f.read().split()
    from firmware.ota import extsig, forget

    bad = extsig.check(digest, [kind, a, int(b) if kind == "rsa" else b], sig)
    extsig = None
    forget("firmware.ota.extsig", "rsa", "p256")
    print("ocpp_signature", bad)
    mark("ocpp signature checked")
    return bad is None
