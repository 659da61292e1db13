"""OTA <-> net glue (the app wires it): what OTA downloads is counted in the data budget of
the active link, and an update the budget deferred on cellular is checked again as soon as
Wi-Fi is up (instead of waiting for the next periodic check, hours later)."""


class OtaHooks:
    def __init__(self, net, on_event=None):
        self.net = net  # firmware.net.service.Net (links, budget)
        self.on_event = on_event
        self.svc = None
        self._f = None  # the fetcher whose bytes were counted last...
        self._counted = 0  # ...and how many of them

    def attach(self, svc):
        """svc: the running firmware.ota.service.Ota (started with on_event=self.event)."""
        self.svc = svc
        self.net.links.subscribe(self.link)

    def event(self, kind, detail):
        f = self.svc.last_fetcher if self.svc else None
        if f is not None and kind in ("Downloaded", "DownloadFailed"):
            if f is not self._f:
                self._f, self._counted = f, 0
            self.net.budget.count(0, f.net_bytes - self._counted)
            self._counted = f.net_bytes
        if self.on_event:
            self.on_event(kind, detail)

    def link(self, event, kind, detail):
        if event == "link_up" and kind == "wifi" and self.svc and self.svc.last_result == "cellular_budget":
            self.svc.request_check()
