"""Authorization: Authorize, the authorization cache, ClearCache, the offline rules (OCPP 1.6
3.5, 5.4; docs/ocpp.md "Authorization").

The one place an idTag is judged. Two doors lead here: the pile's front (a card read at the
reader, front.card_check "backend") publishes card.ask and cp.py answers it with
station.card_answer from authorize(); the service port's `tap` (station.tap, any idTag,
the OCTT tests' card) asks station.authorize, which is authorize() too. "Known" means: in the
local authorization list (llist.py, while LocalAuthListEnabled), else in the cache (while
AuthorizationCacheEnabled); the list takes precedence over the cache and its ids are never
cached (OCPP 1.6 3.5.3).
- LocalPreAuthorize and a known Accepted (not expired): accepted at once, no message;
- online: Authorize.req, its idTagInfo cached and returned;
- offline (or no answer): LocalAuthorizeOffline lets a known entry decide (Accepted, or its
  Blocked / Expired / Invalid); an unknown id is accepted only with AllowOfflineTxForUnknownId;
  anything else is "Invalid".
The cache (<= 32 ids, the oldest dropped first) lives in /data/ocpp/auth.json (atomic) and
also learns from StartTransaction/StopTransaction answers. ClearCache empties it (never the list).
"""
from micropython import const

import fsatomic
import log
from firmware.proto.ocpp import dt, rpc

_log = log.get("ocpp")
PATH = "/data/ocpp/auth.json"
_MAX = const(32)


class Auth:
    def __init__(self, cp, path=PATH):
        self.cp = cp
        self.path = path
        try:
            c = fsatomic.read_json(path, {})
        except (fsatomic.Corrupt, OSError):
            c = {}
        self.cache = c if isinstance(c, dict) else {}  # tag -> [status, expiry unix or None, parent]
        self.asked = 0
        from firmware.proto.ocpp import llist

        self.llist = llist.LocalList(path.rsplit("/", 1)[0] + "/llist.dat")

    def _save(self):
        try:
            fsatomic.write_json(self.path, self.cache)
        except OSError as e:
            _log.warn("authorization cache not saved: %r", e)

    def remember(self, tag, info):
        """Cache an idTagInfo (Authorize, Start/StopTransaction answers)."""
        if not tag or not self.cp.o["auth_cache"] or self._listed(tag) is not None:
            return
        exp = info.get("expiryDate")
        ent = [info.get("status"), dt.unix(exp) if exp else None, info.get("parentIdTag")]
        if self.cache.get(tag) == ent:
            return
        self.cache.pop(tag, None)
        while len(self.cache) >= _MAX:
            self.cache.pop(next(iter(self.cache)))
        self.cache[tag] = ent
        self._save()

    def _listed(self, tag):
        if not self.cp.o["local_list"]:
            return None
        return self.llist.lookup(tag)

    def cached(self, tag):
        """(status, parent) from the local list, else the cache, an expired Accepted as
        Expired; None if unknown."""
        ent = self._listed(tag)
        if ent is None:
            if not self.cp.o["auth_cache"]:
                return None
            ent = self.cache.get(tag)
        if ent is None:
            return None
        st = ent[0]
        now = self.cp.station.bus.now()
        if st == "Accepted" and ent[1] is not None and now is not None and ent[1] < now:
            st = "Expired"
        return st, ent[2]

    async def authorize(self, tag, timeout_ms=None):
        """(status, parentIdTag) for an idTag presented at the pile; timeout_ms bounds the
        Authorize call (the front waits 5 s for its answer), then the offline rules decide."""
        cp = self.cp
        o = cp.o
        c = self.cached(tag)
        online = cp.accepted.is_set()
        if online and o["local_pre_auth"] and c is not None and c[0] == "Accepted":
            return c
        if online:
            try:
                self.asked += 1
                r = await cp.rpc.call("Authorize", {"idTag": tag[:20]}, cp.ids.next(), timeout_ms)
                info = r["idTagInfo"]
                self.remember(tag, info)
                return info["status"], info.get("parentIdTag")
            except (rpc.Offline, rpc.Timeout, rpc.CallError, rpc.BadAnswer) as e:
                _log.warn("Authorize of an idTag failed (%r): offline rules", e)
        if o["local_auth_offline"] and c is not None:
            return c
        if o["allow_offline_unknown"] and c is None:
            return "Accepted", None
        return "Invalid", None

    def clear(self, payload):
        """ClearCache: Accepted (the cache is emptied); Rejected while it is disabled."""
        if not self.cp.o["auth_cache"]:
            return {"status": "Rejected"}
        self.cache = {}
        self._save()
        return {"status": "Accepted"}


def clear_cache(cp, payload):
    return cp.auth.clear(payload)
