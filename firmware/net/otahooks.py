"""OTA <-> net glue (the app wires it): what OTA downloads is counted in the data budget of
the active link, and an update the budget deferred on cellular is checked again as soon as
Wi-Fi is up (instead of waiting for the next periodic check, hours later)."""


class OtaHooks:
    def __init__(self, net, on_event=None):
        self.net = net  # firmware.net.service.Net (links, budget)
        self.on_event = on_event
        self.svc = None
        self._counted = 0  # of the service's net_bytes, how many the budget has seen

    def attach(self, svc):
        """svc: the running firmware.ota.service.Ota (started with on_event=self.event)."""
        self.svc = svc
        self.net.links.subscribe(self.link)

    def event(self, kind, detail):
        if self.svc and kind in ("Downloaded", "DownloadFailed"):
            total = self.svc.net_bytes
            self.net.budget.count(0, total - self._counted)
            self._counted = total
        if self.on_event:
            self.on_event(kind, detail)

    def link(self, event, kind, detail):
        if event == "link_up" and kind == "wifi" and self.svc and self.svc.last_result == "cellular_budget":
            self.svc.request_check()
