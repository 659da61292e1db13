"""The whitepaper's firmware signature (L01.FR.04), checked by the OTA service over the file
at `location` (the release's manifest) before its own Ed25519 check: SHA-256 of the file,
then RSA-PSS (MGF1-SHA-256, any salt length: docs/pki.md) or ECDSA P-256 (DER) with the
signing certificate's key. Imported for the check and dropped after it (fw.py)."""
import binascii
import hashlib


def check(data, key, sig_b64):
    """None when `sig_b64` signs `data` with `key` (["rsa", n hex, e] | ["ec", x hex, y hex]),
    else (reason, detail) for the OTA service's InvalidSignature."""
    try:
        sig = binascii.a2b_base64(sig_b64)
    except ValueError:
        return "ocpp_signature", "the signature is not base64"
    d = hashlib.sha256(data).digest()
    if key[0] == "rsa":
        import rsa

        ok = rsa.verify_pss(int(key[1], 16), key[2], d, sig, None)
    else:
        import p256

        ok = p256.verify(int(key[1], 16), int(key[2], 16), d, sig)
    if ok:
        return None
    return "ocpp_signature", "the %s signature over the file at location does not verify" % key[0].upper()
