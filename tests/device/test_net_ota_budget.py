# The OTA service consults the data budget (net.budget.allow_update through app's wiring,
# firmware/net/otahooks.py): an image update is deferred on cellular over budget with a
# reason, goes ahead on Wi-Fi (checked again as soon as Wi-Fi is up), and what it
# downloaded is counted against the link it went over.
import asyncio
import os

import thisboot
import fsatomic
from firmware import config
from firmware.net.budget import Budget
from firmware.bus import Bus
from firmware.net import otahooks
from firmware.net.timesync import unix_from_utc
from firmware.ota.service import Ota

IMAGE = 300 * 1024


class FakeNet:
    def __init__(self, budget):
        self.budget = budget


class FakeFetcher:
    """What Ota._attempt uses of a Fetcher: envelope(), download_image(), net_bytes."""

    def __init__(self):
        self.net_bytes = 0
        self.images = 0

    async def envelope(self):
        self.net_bytes += 900
        return b"signed envelope v2"

    async def download_image(self, env_hex, payload):
        self.images += 1
        self.net_bytes += payload["image"]["size"]
        return {"kind": "image"}


def fake_check(env, keyring, **kw):
    return {"version": "2.0.0", "counter": 2, "kind": "image", "image": {"size": IMAGE, "sha256": "00" * 32}}


def setup_pile(**budget):
    tmp = os.getenv("UPILE_TMP")
    thisboot.STATE = tmp + "/ota/state.json"
    fsatomic.mkdirs(tmp + "/ota")
    fsatomic.write_json(thisboot.STATE, {"active": "a", "pending": None, "counter": 1, "slots": {"a": {}}})
    cfg = config.defaults()
    cfg["budget"].update(budget)
    b = Budget(cfg["budget"], tmp + "/data/net/usage.json", now=lambda: unix_from_utc(2025, 5, 20, 8, 0, 0))
    net = FakeNet(b)
    events = []
    bus = Bus()
    sub = bus.subscribe("ota.", "link.up")

    def on_event(kind, d):  # as the app wires it: ota.<Status> on the bus
        events.append((kind, d["reason"], d.get("deferred")))
        bus.publish("ota." + kind, d)

    svc = Ota(cfg, keyring={}, check=fake_check, net_ok=b.allow_update, on_event=on_event)
    net.bus = bus
    net.hooks = asyncio.create_task(otahooks.run(sub, net, svc))
    return svc, net, b, events


async def settle(sub_owner):
    for _ in range(5):
        await asyncio.sleep_ms(0)


async def attempt(svc, net):
    f = FakeFetcher()  # run_once makes a Fetcher per phase; one fake serves both phases
    svc.last_result = await svc._attempt(lambda: f, False)
    await settle(net)
    return f, svc.last_result


async def test_image_deferred_on_cellular_over_budget_then_goes_on_wifi():
    svc, net, b, events = setup_pile(cell_month_kb=1024)
    b.kind = "cellular"
    b.count(0, 900 * 1024)  # 900 KiB of the month's 1 MiB used
    f, res = await attempt(svc, net)
    assert res == "cellular_budget" and f.images == 0  # not one image byte over the paid link
    assert ("DownloadFailed", "cellular_budget", True) in events
    assert b.today()["cellular"][1] == 900 * 1024 + 900  # the envelope's bytes were counted
    # Wi-Fi comes up: the deferred update is checked again at once...
    assert not svc._wake.is_set()
    b.kind = "wifi"
    net.bus.publish("link.up", {"link": "wifi"})
    await settle(net)
    assert svc._wake.is_set()
    # ...and goes ahead, its bytes counted on Wi-Fi
    f, res = await attempt(svc, net)
    assert res == "downloaded" and f.images == 1
    assert events[-1][:2] == ("Downloaded", "image")
    assert b.today()["wifi"][1] == IMAGE + 900 and b.cellular_month() == 900 * 1024 + 900


async def test_cellular_within_budget_or_without_one_downloads():
    svc, net, b, events = setup_pile(cell_month_kb=0)  # default: no monthly budget
    b.kind = "cellular"
    b.count(0, 10 ** 8)
    f, res = await attempt(svc, net)
    assert res == "downloaded" and f.images == 1
    assert b.today()["cellular"][1] == 10 ** 8 + IMAGE + 900


async def test_cellular_link_up_does_not_retry_a_deferred_update():
    svc, net, b, events = setup_pile(cell_month_kb=100)
    b.kind = "cellular"
    f, res = await attempt(svc, net)
    assert res == "cellular_budget"
    net.bus.publish("link.up", {"link": "cellular"})
    await settle(net)
    assert not svc._wake.is_set()
