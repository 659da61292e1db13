"""`upile keygen --out DIR`: a new Ed25519 release key pair (private key mode 0600); with
`--ocpp-signing rsa|ec` also a bench manufacturer root and firmware signing certificate for
OCPP SignedUpdateFirmware (DIR/ocpp/, docs/ocpp.md "Part 2")."""
from pathlib import Path

from upile import release


def add_arguments(p):
    p.add_argument("--out", required=True, help="folder for release.key, release.pub and keys.json")
    p.add_argument("--ocpp-signing", choices=("rsa", "ec"),
                   help="also make OUT/ocpp/: a manufacturer root (install it on the pile as "
                        "ManufacturerRootCertificate) and a signing certificate and key (RSA-2048 PSS or "
                        "P-256 ECDSA) for `upile release --ocpp-signing`")
    p.add_argument("--only-ocpp", action="store_true", help="with --ocpp-signing: skip the Ed25519 release key")


def run(args):
    if not args.only_ocpp:
        kid = release.keygen(args.out)
        print("keyid %s" % kid)
        print("private key %s/%s (mode 0600: keep it offline); public key %s/%s; device key ring %s/keys.json"
              % (args.out, release.PRIV_NAME, args.out, release.PUB_NAME, args.out))
    if args.ocpp_signing:
        from upile import fwsign

        d = fwsign.keygen(Path(args.out), args.ocpp_signing)
        print("OCPP manufacturer root %s/%s (and .der for the pile; its key %s: keep it offline); "
              "signing certificate %s/%s, key %s/%s"
              % (d, fwsign.ROOT_PEM, fwsign.ROOT_KEY, d, fwsign.SIGN_PEM, d, fwsign.SIGN_KEY))
    return 0
