"""A back end's own signature over a release's manifest envelope (OCPP SignedUpdateFirmware,
security whitepaper L01.FR.04; docs/ocpp.md "Part 2"), on the envelope's SHA-256 digest
taken when it arrived, checked once the release is downloaded, before the install: RSA-PSS (MGF1-SHA-256, any salt length: docs/pki.md) or ECDSA P-256 (DER)
with the signing certificate's key. Part of the OTA engine so that it costs the 64K update
heap only this module and rsa or p256, loaded for the check and dropped after it
(service.py); the caller checked the certificate and hands over its key as data."""
import binascii


def check(d, key, sig_b64):
    """None when `sig_b64` signs the data of SHA-256 digest `d` with `key` (["rsa", n hex, e]
    | ["ec", x hex, y hex]), else (reason, detail) for the OTA service's InvalidSignature."""
    try:
        sig = binascii.a2b_base64(sig_b64)
    except ValueError:
        return "ocpp_signature", "the signature is not base64"
    if key[0] == "rsa":
        import rsa

        ok = rsa.verify_pss(int(key[1], 16), key[2], d, sig, None)
    else:
        import p256

        ok = p256.verify(int(key[1], 16), int(key[2], 16), d, sig)
    if ok:
        return None
    return "ocpp_signature", "the %s signature over the file at location does not verify" % key[0].upper()
