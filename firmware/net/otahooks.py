"""OTA <-> net glue, as a bus subscriber the app supervises: what OTA downloads is counted
in the data budget of the active link, and an update the budget deferred on cellular is
checked again as soon as Wi-Fi is up (instead of waiting for the next periodic check)."""


async def run(sub, net, svc):
    """sub: a bus subscription to "ota." and "link.up"; net: firmware.net.service.Net;
    svc: the running firmware.ota.service.Ota."""
    counted = 0  # of the service's net_bytes, how many the budget has seen
    while True:
        ev = await sub.get()
        t = ev.topic
        if t == "ota.Downloaded" or t == "ota.DownloadFailed":
            total = svc.net_bytes
            net.budget.count(0, total - counted)
            counted = total
        elif t == "link.up" and ev.data.get("link") == "wifi" and svc.last_result == "cellular_budget":
            svc.request_check()
