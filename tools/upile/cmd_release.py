"""`upile release`: pack the built app (or an image), sign its manifest, write a release folder."""
from pathlib import Path

from upile import paths, release
from upile.errors import UserError


def add_arguments(p):
    p.add_argument("--kind", required=True, choices=("app", "image"))
    p.add_argument("--version", required=True, help="version text shown to people, e.g. 1.4.0")
    p.add_argument("--counter", required=True, type=int, help="anti-rollback counter: must exceed the installed one")
    p.add_argument("--key", required=True, help="Ed25519 private key (PEM) from `upile keygen`")
    p.add_argument("--product", required=True, help="product id the release fits (config pile.product)")
    p.add_argument("--expires", help="+90d, 2027-01-31 or Unix seconds (default: a year from now)")
    p.add_argument("--out", required=True, help="release folder to write")
    p.add_argument("--app", help="built app tree for --kind app (default build/x64)")
    p.add_argument("--image", help="firmware image file for --kind image")
    p.add_argument("--container", nargs="?", const="", metavar="FILE",
                   help="also write the release as one file for back ends that push it (DNY in-band "
                        "update; docs/dny.md); default OUT/release.upr")
    p.add_argument("--ocpp-signing", metavar="DIR",
                   help="also sign the manifest for OCPP SignedUpdateFirmware with DIR's signing key "
                        "(`upile keygen --ocpp-signing`): writes OUT/manifest.dsse.json.sig, OUT/signing.pem and "
                        "OUT/ocpp-firmware.json (docs/ocpp.md \"Part 2\")")
    p.add_argument("--ocpp-location", metavar="URL", help="the manifest's URL once published (for ocpp-firmware.json)")


def run(args):
    if args.kind == "app":
        if args.image:
            raise UserError("--image is for --kind image")
        src = Path(args.app) if args.app else paths.BUILD / "x64"
    else:
        if not args.image:
            raise UserError("--kind image needs --image FILE")
        src = Path(args.image)
    p = release.make_release(src, args.kind, args.version, args.counter, args.key, args.product,
                             args.expires, args.out)
    what = "%d files, %d bytes" % (len(release.read_index(args.out)), p["bundle"]["size"]) if args.kind == "app" \
        else "%d bytes" % p["image"]["size"]
    print("release %s (counter %d, %s) for %s written to %s" % (p["version"], p["counter"], what, p["product"], args.out))
    if args.ocpp_signing:
        from upile import fwsign

        fwsign.sign_release(args.out, args.ocpp_signing, args.ocpp_location)
        print("OCPP signature %s/%s, certificate %s/%s, request firmware object %s/%s"
              % (args.out, fwsign.SIG_NAME, args.out, fwsign.CERT_NAME, args.out, fwsign.REQ_NAME))
    if args.container is not None:
        path = release.write_container(args.out, args.container or None)
        print("container %s: %d bytes" % (path, Path(path).stat().st_size))
    return 0
