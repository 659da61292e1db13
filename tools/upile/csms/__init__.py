"""The bench CSMS (`upile csms`, tests, the demo): server.py (the `ocpp` package on
`websockets`), pki.py (a test CA made with `cryptography`), show.py (one readable line per
message). docs/ocpp.md "upile csms"."""
from upile.csms.server import Csms, CsmsCallError, Pile  # noqa: F401
