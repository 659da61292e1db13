"""The charge point certificate's schedule (security profile 3; docs/ocpp.md "Part 2: the
charge point certificate"): when the pile makes a new key and CSR (asked by the CSMS, or a
month before its certificate ends), and when a received certificate takes over (from its
notBefore, with a reconnect on profile 3). The work itself (keys, CSR, chain checks, files)
is certsign.py's, imported for each step and dropped after it (cp.use); this part stays
resident and small. Its state lives on the charge point: cp.cert_switch (the task waiting
for a notBefore) and cp.renew_at (unix time of the next look at the expiry)."""
import asyncio

import log
from firmware.proto.ocpp import rpc

_log = log.get("ocpp")
_DAY = 86400


def at_start(cp):
    """A certificate received before a reboot still waits for its notBefore, or an old one
    waits to be removed: carry on."""
    import os

    for n in ("/cp_next.json", "/cp_old.json"):
        try:
            os.stat(cp.data + n)
        except OSError:
            continue
        cp.use("certsign", "sweep")
        start_switch(cp)
        return


def start_switch(cp):
    """Use a received charge point certificate from its notBefore."""
    t = cp.cert_switch
    if t is None or t.done():
        cp.cert_switch = asyncio.create_task(_switch_when_due(cp))


async def _switch_when_due(cp):
    while True:
        s = cp.use("certsign", "due")
        if s is None:
            return
        if s:
            await asyncio.sleep(min(s, 3600))
            continue
        if cp.use("certsign", "switch") and cp.conn.profile == 3:
            await cp.reconnect()  # the new client certificate from this connection on
        return


async def sign_request(cp):
    """A new key pair and its CSR sent as SignCertificate; the certificate comes later in
    CertificateSigned."""
    p = cp.use("certsign", "request")  # a new key and its CSR (~ms here, more on a chip)
    if p is None:
        return
    try:
        r = await cp.rpc.call("SignCertificate", p, cp.ids.next())
        _log.info("SignCertificate: %s", r.get("status"))
    except (rpc.CallError, rpc.BadAnswer, rpc.Timeout, rpc.Offline) as e:
        _log.warn("SignCertificate: %r", e)


def renew_check(cp):
    """Once connected, then daily: a client certificate a month from its end is renewed."""
    now = cp.bus.now()
    if not cp.accepted.is_set() or now is None or (cp.renew_at is not None and now < cp.renew_at):
        return
    cp.renew_at = now + _DAY
    if cp.use("certsign", "renew_due"):
        asyncio.create_task(sign_request(cp))
