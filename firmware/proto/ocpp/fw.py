"""A SignedUpdateFirmware request through the OTA engine, and its statuses (whitepaper L01;
docs/ocpp.md "Part 2: signed firmware updates").

The request (fwupdate.py checked and accepted it) lives in /data/ocpp/fw.json until its
final status is queued: requestId, the release URL, the signature and the signing key,
retries, retryInterval, retrieveDateTime, installDateTime, the last status and the
release's counter once the manifest named it. Statuses go through the guaranteed queue
(outq.py), each once, in the whitepaper's order:
  [DownloadScheduled] Downloading Downloaded SignatureVerified [InstallScheduled]
  Installing InstallRebooting Installed
or one of the failure ends DownloadFailed, InvalidSignature, InstallationFailed,
InstallVerificationFailed. They come from the bus's ota.* events of this request (the OTA
service tags them with the requestId), and after a reboot from the boot state: a trial of
the new release waits for ota.Installed (healthy) or ota.RolledBack; a request a power cut
interrupted before its install starts again (its download resumes), counted as an attempt.

While a running session delays the install (InstallScheduled, ports_busy), the ports not in
use are set Unavailable (the spec's recommendation), and so is each port whose session ends
meanwhile; their numbers are in fw.json before they close. They open again at the request's
end, and at every start (a power cut during the wait, the install's reset): the wait then
begins again and closes them again; a port the operator changed (ChangeAvailability) during
the wait is left to the operator.
"""
import asyncio

import fsatomic
import log

_log = log.get("ocpp")
# statuses that end a request
_ENDS = ("Installed", "DownloadFailed", "InvalidSignature", "InstallationFailed", "InstallVerificationFailed")
_AFTER_INSTALL = ("Installing", "InstallRebooting")
_MANIFEST = "/manifest.dsse.json"


def release_dir(location):
    """The OTA engine's release directory for a `location` (the manifest's URL, or the
    directory that holds it)."""
    if location.endswith(_MANIFEST):
        return location[: -len(_MANIFEST)]
    return location.rstrip("/")


class Fw:
    def __init__(self, cp, path):
        self.cp = cp
        self.path = path
        try:
            self.st = fsatomic.read_json(path, None)
        except (fsatomic.Corrupt, OSError, ValueError):
            self.st = None
        self._task = None

    def active(self):
        """The request in progress (not ended), or None."""
        st = self.st
        return st if st and st.get("ph") not in _ENDS else None

    def _save(self):
        fsatomic.write_json(self.path, self.st)

    def note(self, status):
        """Queue the status (once) and remember it as the request's last."""
        st = self.st
        if st is None or st.get("ph") == status:
            return
        self.cp.outq.add("SignedFirmwareStatusNotification", {"status": status, "requestId": st["rid"]})
        st["ph"] = status
        self._save()
        _log.info("firmware request %d: %s", st["rid"], status)
        if status in _ENDS:
            self.reopen()
        if status == "InvalidSignature":
            self.cp.security("InvalidFirmwareSignature", st.get("why") or "")
        elif status == "Installed":
            self.cp.security("FirmwareUpdated", "version %s" % (st.get("ver") or "?"))

    # ---- a new request (fwupdate.py)
    def begin(self, st):
        """A checked, accepted request: replaces any scheduled one; its work starts once the
        answer is sent (after())."""
        self.cancel()
        self.reopen()  # a replaced request's wait ends here
        st["ph"] = None
        st["n"] = 0
        self.st = st
        self._save()

    def cancel(self):
        t = self._task
        self._task = None
        if t is not None:
            t.cancel()

    def after(self):
        self._task = asyncio.create_task(self._run())

    # ---- after a reboot
    def resume(self):
        """OCPP starts: carry on with a request a reboot interrupted."""
        self.reopen()
        st = self.active()
        if st is None:
            return
        ph = st.get("ph")
        u = self.cp.station.update_status()
        ours = st.get("ver") is not None and u.get("version") == st["ver"]
        if u.get("trial") and ours and ph not in _AFTER_INSTALL:
            # the install's reset came before its statuses were queued: this trial is ours
            self.note("Installing")
            ph = "Installing"
        if ph in _AFTER_INSTALL:
            ctr = st.get("ctr")
            if u.get("trial") and ph == "Installing":
                self.note("InstallRebooting")
            if u.get("trial"):
                return  # the trial's ota.Installed or a rollback's ota.RolledBack ends it
            rb = (u.get("rolled_back") or "").split(",")
            if ctr is not None and str(ctr) in rb:
                self.note("InstallVerificationFailed")
                return
            if ctr is not None and u.get("counter") == ctr:
                self.note("Installed")  # confirmed before the cut, not yet told
                return
            # cut before the new release was handed to the boot: install it again
        self._task = asyncio.create_task(self._run())

    # ---- the work
    async def _run(self):
        st = self.st
        try:
            at = st.get("retrieve")
            now = self.cp.station.bus.now()
            if at is not None and now is not None and at > now + 2:
                self.note("DownloadScheduled")
                while True:
                    now = self.cp.station.bus.now()
                    if now is not None and now >= at:
                        break
                    await asyncio.sleep(min(30, max(1, at - (now or 0))))
            limit = st.get("retries", 0) + 1
            while True:
                if st.get("n", 0) >= limit:
                    self.note("DownloadFailed" if st.get("ph") not in _AFTER_INSTALL else "InstallationFailed")
                    return
                st["n"] = st.get("n", 0) + 1
                self._save()
                try:
                    self.cp.station.request_update(release_dir(st["url"]), st["rid"], self._opts())
                    break
                except Exception as e:  # noqa: BLE001  Refused: busy (a periodic check runs), no_ota
                    code = getattr(e, "code", None) or repr(e)
                    if code != "busy":
                        _log.warn("firmware request %d refused by the pile: %s", st["rid"], code)
                        st["why"] = code
                        self.note("DownloadFailed")
                        return
                    st["n"] -= 1
                    await asyncio.sleep(5)
            self.note("Downloading")
        finally:
            self._task = None

    def _opts(self):
        st = self.st

        async def drain():
            # the bus hands ota.Installing to the events task later: wait until its statuses
            # are on flash, then (online) until they reached the CSMS, before the reset
            q = self.cp.outq
            while (self.st or {}).get("ph") not in _AFTER_INSTALL[1:] + _ENDS or \
                    (q.pending() and self.cp.accepted.is_set()):
                await asyncio.sleep_ms(50)

        # the OTA engine checks the signature over the manifest (firmware/ota/extsig.py);
        # retries: one engine attempt per attempt counted here
        o = {"signature": (st["key"], st["sig"]), "retries": 0, "before_reset": drain}
        if st.get("install") is not None:
            o["not_before"] = st["install"]
        return o

    # ---- the OTA engine's events (cp.event)
    def on_ota(self, kind, d):
        st = self.active()
        if st is None:
            return
        rid = d.get("request_id")
        if rid is not None and rid != st["rid"]:
            return
        if rid is None and kind not in ("Installed", "RolledBack"):
            return  # a periodic check's, not ours
        if kind == "SignatureVerified":
            st["ver"], st["ctr"] = d.get("version"), d.get("counter")
            self._save()
        elif kind == "Downloaded":
            self.note("Downloaded")
            if d.get("signature") == "ok":  # the whitepaper's signature (ours held before the download)
                self.note("SignatureVerified")
        elif kind == "InvalidSignature":
            st["why"] = "%s: %s" % (d.get("reason"), d.get("detail") or "")
            self.note("Downloaded")  # (ours: the manifest was downloaded, refused before the rest)
            self.note("InvalidSignature")
        elif kind == "InstallScheduled":
            self.note("InstallScheduled")
            if d.get("reason") == "ports_busy":
                st.setdefault("closed", [])
                self.close_idle()
        elif kind == "Installing":
            self.note("Installing")
            self.note("InstallRebooting")  # the service resets the pile right after
        elif kind == "InstallationFailed":
            self.note("InstallationFailed")
        elif kind == "Installed":
            if st.get("ph") in _AFTER_INSTALL and (st.get("ctr") is None or d.get("counter") in (None, st["ctr"])):
                self.note("Installed")
        elif kind == "RolledBack":
            if st.get("ph") in _AFTER_INSTALL:
                self.note("InstallVerificationFailed")
        elif kind == "Finished":
            self._finished(st, d.get("reason"))

    def _finished(self, st, result):
        if st.get("ph") in _ENDS or result in ("installed", "downloaded"):
            return
        if result == "up_to_date":  # that release already runs here
            self.note("Downloaded")
            self.note("SignatureVerified")
            self.note("Installed")
            return
        st["why"] = result
        if st.get("ph") in _AFTER_INSTALL:
            self.note("InstallationFailed")
            return
        if st.get("n", 0) < st.get("retries", 0) + 1 and result not in ("downgrade", "wrong_product", "expired",
                                                                         "rolled_back_before", "trial_running"):
            self._task = asyncio.create_task(self._retry())
            return
        self.note("DownloadFailed")

    async def _retry(self):
        await asyncio.sleep(max(1, self.st.get("interval") or 30))
        await self._run()

    # ---- idle ports Unavailable while a session delays the install
    def close_idle(self):
        """Close every open port without a session or reservation (journalled in fw.json
        first: a cut between the two reopens a port that was open, harmlessly)."""
        st = self.st
        if st is None or st.get("closed") is None or st.get("ph") != "InstallScheduled":
            return
        sta = self.cp.station
        op = st.get("op") or ()
        add = []
        for n in range(1, sta.ports() + 1):
            if n in st["closed"] or n in op:
                continue
            i = sta.port(n)
            if i.get("available") and i.get("id") is None and i.get("reservation") is None:
                add.append(n)
        if not add:
            return
        st["closed"] = sorted(st["closed"] + add)
        self._save()
        for n in add:
            self._set(n, False)
        _log.info("firmware request %d: ports %r Unavailable until the install", st["rid"], add)

    def reopen(self):
        """Open the ports close_idle() closed (opened first, forgotten after: a cut between
        opens them again at the next start)."""
        st = self.st
        ports = st and st.get("closed")
        if st is None or "closed" not in st:
            return
        for n in ports or ():
            self._set(n, True)
        del st["closed"]
        st.pop("op", None)
        self._save()
        if ports:
            _log.info("firmware request %d: ports %r open again", st["rid"], ports)

    def operator(self, port):
        """ChangeAvailability during the wait: that port (0: all) is the operator's now."""
        st = self.st
        if st is None or st.get("closed") is None:
            return
        ports = range(1, self.cp.station.ports() + 1) if port == 0 else (port,)
        st["closed"] = [n for n in st["closed"] if n not in ports]
        st["op"] = sorted(set((st.get("op") or []) + list(ports)))
        self._save()

    def _set(self, n, on):
        from firmware.station import Refused

        try:
            self.cp.station.set_available(n, on)
        except Refused as e:  # no pile: nothing charges anyway
            _log.warn("set_available(%d, %s): %s", n, on, e.code)
