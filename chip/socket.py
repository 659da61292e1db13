"""The sim chip's `socket`: the Unix port's own, gated by the sim link model.

While the harness says no link is up (no Wi-Fi with an IP, no PPP), name lookups fail with
OSError(-202) (lwIP's EAI_FAIL on the ESP32) and connect() with OSError(EHOSTUNREACH), as an
ESP32 without a link does. Names other than localhost and addresses outside 127.0.0.0/8
never resolve: the sim's network is the host's loopback and nothing else. The chip's own wires to the harness use `usocket` directly.
"""
import usocket as _u
from usocket import *  # noqa: F401,F403
import _simlink

_EHOSTUNREACH = 113
_EAI_FAIL = -202


def _numeric(host):
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() for p in parts)


def _on_sim_net(host):
    # The sim's whole network is this host's loopback: its DNS knows `localhost` and
    # 127.0.0.0/8 only, so firmware defaults such as pool.ntp.org never leave the machine.
    return host == "localhost" or (_numeric(host) and host.startswith("127."))


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):
    # The gate sits here, not in a socket subclass: select.poll never reports a Python
    # subclass of the native socket ready, which stalled every asyncio stream (OTA, OCPP).
    # Every connect on the device goes through getaddrinfo first (asyncio does).
    if not _simlink.links_up():
        raise OSError(_EHOSTUNREACH if _numeric(host) else _EAI_FAIL)
    if not _on_sim_net(host):
        raise OSError(_EHOSTUNREACH if _numeric(host) else _EAI_FAIL)
    return _u.getaddrinfo(host, port, af, type, proto, flags)
