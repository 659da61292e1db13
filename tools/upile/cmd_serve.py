"""`upile serve DIR`: serve a release folder over HTTP with Range support (for the bench)."""
from pathlib import Path

from upile.errors import UserError
from upile.serve import make_server


def add_arguments(p):
    p.add_argument("dir", help="folder to serve")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for the LAN)")


def run(args):
    if not Path(args.dir).is_dir():
        raise UserError("%s is not a folder" % args.dir)
    try:
        srv = make_server(args.dir, args.port, args.host, verbose=True)
    except OSError as e:
        raise UserError("cannot listen on %s:%d: %s" % (args.host, args.port, e.strerror or e))
    print("serving %s on http://%s:%d/ (Ctrl-C stops)" % (args.dir, args.host, srv.server_address[1]), flush=True)
    try:
        srv.serve_forever()
    finally:
        srv.server_close()
    return 0
