# heapsize: 1M
# (1M: every module compiles from source here; after parts 2 and 3 joined, a 6.8 KB parse found no room at 640K)
# timeout: 120
# InstallCertificate / GetInstalledCertificateIds / DeleteCertificate in-process (ocppbench):
# roots from tests/device/vectors (made by `cryptography`), the store's bound, the RFC 6960
# hashes, a torn write left by a power cut, and SignedUpdateFirmware using an installed root.
from hashlib import sha256

import pkivec
from ocppbench import Bench

NOW = 1798761600


def _pem(name):
    return pkivec.cert_pem(name).decode()


def _call(b, action, p):
    r = b.cp.handlers[action](p)
    return r[0] if isinstance(r, tuple) else r


async def test_install_list_delete_and_the_bound():
    b = Bench()
    b.rig.wall = NOW
    try:
        await b.booted()
        inst = lambda kind, name: _call(b, "InstallCertificate", {"certificateType": kind, "certificate": _pem(name)})  # noqa: E731
        assert _call(b, "GetInstalledCertificateIds", {"certificateType": "ManufacturerRootCertificate"}) == \
            {"status": "NotFound"}
        assert inst("ManufacturerRootCertificate", "root_rsa") == {"status": "Accepted"}
        assert inst("ManufacturerRootCertificate", "root_rsa") == {"status": "Accepted"}  # the same: kept once
        # not a root: a leaf, a CA-less "root"
        assert inst("ManufacturerRootCertificate", "fw_pss") == {"status": "Rejected"}
        assert inst("ManufacturerRootCertificate", "notca_root") == {"status": "Rejected"}
        for name in ("root_ec", "other_root", "impostor_root"):
            assert inst("ManufacturerRootCertificate", name) == {"status": "Accepted"}
        assert inst("ManufacturerRootCertificate", "ku_root") == {"status": "Rejected"}  # 4 held: full
        assert inst("CentralSystemRootCertificate", "ku_root") == {"status": "Accepted"}  # its own bound
        # a refused CSMS root is logged and sent (OCTT TC_078: SecurityEventNotification)
        assert inst("CentralSystemRootCertificate", "fw_pss") == {"status": "Rejected"}
        await b.until(lambda: [e for e in b.calls("SecurityEventNotification")
                               if e["type"] == "InvalidCentralSystemCertificate" and "not_root" in e["techInfo"]])
        r = _call(b, "GetInstalledCertificateIds", {"certificateType": "ManufacturerRootCertificate"})
        assert r["status"] == "Accepted" and len(r["certificateHashData"]) == 4
        import pem
        import x509

        c = x509.parse(next(pem.blocks(pkivec.cert_pem("root_rsa"))))
        want = {"hashAlgorithm": "SHA256", "issuerNameHash": sha256(c["issuer"]).digest().hex(),
                "issuerKeyHash": sha256(c["key_bits"]).digest().hex(), "serialNumber": "1001"}
        assert want in r["certificateHashData"]
        c_ids = _call(b, "GetInstalledCertificateIds", {"certificateType": "CentralSystemRootCertificate"})
        assert len(c_ids["certificateHashData"]) == 1
        # delete by hash (upper case and a leading zero in the serial are the same certificate)
        d = dict(want, serialNumber="01001", issuerNameHash=want["issuerNameHash"].upper())
        assert _call(b, "DeleteCertificate", {"certificateHashData": d}) == {"status": "Accepted"}
        assert _call(b, "DeleteCertificate", {"certificateHashData": d}) == {"status": "NotFound"}
        r = _call(b, "GetInstalledCertificateIds", {"certificateType": "ManufacturerRootCertificate"})
        assert len(r["certificateHashData"]) == 3 and want not in r["certificateHashData"]
        assert inst("ManufacturerRootCertificate", "root_rsa") == {"status": "Accepted"}  # room again
        # a power cut in the middle of a write leaves a .tmp: never read as a root
        with open(b.data + "/certs/M9.der.tmp", "wb") as f:
            f.write(b"\x30\x82")
        r = _call(b, "GetInstalledCertificateIds", {"certificateType": "ManufacturerRootCertificate"})
        assert len(r["certificateHashData"]) == 4
        # the firmware check uses what was installed: fw_pss (issued by root_rsa) is accepted now
        b.station.update_status = lambda: {"phase": "idle"}
        from test_ocpp_fw import _req

        r = b.cp.handlers["SignedUpdateFirmware"](_req(3))
        assert (r[0] if isinstance(r, tuple) else r)["status"] in ("Accepted", "Rejected")
        assert (r[0] if isinstance(r, tuple) else r)["status"] != "InvalidCertificate"
    finally:
        b.close()
