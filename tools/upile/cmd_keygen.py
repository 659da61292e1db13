"""`upile keygen --out DIR`: a new Ed25519 release key pair (private key mode 0600)."""
from upile import release


def add_arguments(p):
    p.add_argument("--out", required=True, help="folder for release.key, release.pub and keys.json")


def run(args):
    kid = release.keygen(args.out)
    print("keyid %s" % kid)
    print("private key %s/%s (mode 0600: keep it offline); public key %s/%s; device key ring %s/keys.json"
          % (args.out, release.PRIV_NAME, args.out, release.PUB_NAME, args.out))
    return 0
