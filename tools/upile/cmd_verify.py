"""`upile verify DIR --pubkey PUB`: every check the device makes, run on the host."""
from upile import release


def add_arguments(p):
    p.add_argument("dir", help="release folder")
    p.add_argument("--pubkey", required=True, action="append",
                   help="trusted public key: PEM file, raw 32-byte file or 64 hex chars (repeatable)")
    p.add_argument("--product", help="product the device is (default: the one the manifest names)")
    p.add_argument("--installed-counter", type=int, default=-1, help="counter installed on the device")
    p.add_argument("--threshold", type=int, default=1, help="trusted signatures needed")
    p.add_argument("--now", type=int, help="Unix seconds to check expiry against (default: now)")


def run(args):
    keys = [release.load_public(k) for k in args.pubkey]
    p = release.verify_release(args.dir, keys, product=args.product, installed_counter=args.installed_counter,
                               now=args.now, threshold=args.threshold)
    n = len(release.read_index(args.dir)) if p["kind"] == "app" else 1
    print("OK: %s %s counter %d for %s, %d file(s) match their sha256"
          % (p["kind"], p["version"], p["counter"], p["product"], n))
    return 0
