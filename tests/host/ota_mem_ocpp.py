# The OCPP part of tests/host/ota_mem.py (tests/host/test_ocpp_fw_memory.py): what
# Ota._attempt does with a back end's signature (opts["signature"]): the envelope's digest
# taken when it arrives, firmware/ota/extsig.py (and rsa or p256) loaded after the download
# for the check, dropped after it. A module of its own so the
# harness drops its code and data once the check ran.
DATA = None


def load(path):
    """path: "rsa n_hex e sig_b64" or "ec x_hex y_hex sig_b64" (read before the host's file
    system is unmounted)."""
    global DATA
    with open(path) as f:
        DATA = f.read().split()


def check(digest, mark):
    global DATA
    kind, a, b, sig = DATA
    DATA = None
    from firmware.ota import extsig, forget

    bad = extsig.check(digest, [kind, a, int(b) if kind == "rsa" else b], sig)
    extsig = None
    forget("firmware.ota.extsig", "rsa", "p256")
    print("ocpp_signature", bad)
    mark("ocpp signature checked")
    return bad is None
