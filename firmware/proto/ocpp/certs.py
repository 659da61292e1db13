"""The installed root certificates of the whitepaper (ManufacturerRootCertificate "M",
CentralSystemRootCertificate "C"): one DER file each, <kind><n>.der, under the charge
point's data folder (/data/ocpp/certs: outside the app slots, an update keeps them).
Imported when a CALL needs them, then dropped."""
import os

DIR = "/data/ocpp/certs"


def names(kind, d=DIR):
    """File names of the installed roots of `kind` ("M" or "C"), sorted."""
    try:
        return sorted(n for n in os.listdir(d) if n[0] == kind and n.endswith(".der"))
    except OSError:
        return []


def ders(kind, d=DIR):
    """Yields the DER of each installed root of `kind`."""
    for n in names(kind, d):
        with open(d + "/" + n, "rb") as f:
            yield f.read()
