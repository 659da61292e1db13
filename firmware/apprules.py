"""Config rules of the app's own section `supervisor` (firmware/config.py RULES): None or
"supervisor.key: what is wrong". Plain arithmetic: CPython runs it too (`upile provision`)."""


def check_supervisor(cfg):
    s = cfg["supervisor"]
    if s["backoff_ms"] > s["backoff_max_ms"]:
        return "supervisor.backoff_ms: %d is above supervisor.backoff_max_ms %d" % (s["backoff_ms"], s["backoff_max_ms"])
    # a crash loop must be able to reach max_crashes within the window at the first backoffs
    if s["backoff_ms"] * 1000 > s["crash_window_s"] * 1000 * 1000 // s["max_crashes"]:
        return "supervisor.backoff_ms: %d is too long to see %d crashes within supervisor.crash_window_s %d" % (
            s["backoff_ms"], s["max_crashes"], s["crash_window_s"])
    return None


PROTOCOLS = ("none", "ocpp", "dny")


def check_protocol(cfg):
    p = cfg["backend"]["protocol"]
    if p not in PROTOCOLS:
        return "backend.protocol: %r is not one of %s" % (p, ", ".join(PROTOCOLS))
    return None
