# The OTA service's health confirmation (after ota.health_s, configurable) prints the one line
# bench tools wait for, runs on_healthy (the config's last-good copy), and `ota status|check`
# on the service port reports the trial and asks for a check.
import asyncio
import os

import thisboot
import fsatomic
import log
from firmware import config, ota
from firmware.bus import Bus
from firmware.ota.service import Ota
from firmware.proto import maint
from firmware.station import Station

TMP = os.getenv("UPILE_TMP")


def setup():
    thisboot.STATE = TMP + "/ota/state.json"
    fsatomic.mkdirs(TMP + "/ota")
    fsatomic.mkdirs(TMP + "/log")
    log.enable_ring(TMP + "/log", 4096)
    fsatomic.write_json(thisboot.STATE, {"active": "a", "pending": "b", "trials": 0, "boots": 1, "booted": "b", "counter": 4,
                         "slots": {"a": {"pin": "00", "counter": 4, "version": "1.0"},
                                   "b": {"pin": "11", "counter": 5, "version": "2.0"}}})
    thisboot.selected, thisboot.trial = "b", True


def teardown():
    ota._service = None


def _ota(**ota_cfg):
    cfg = config.defaults()
    cfg["ota"].update(ota_cfg)
    calls = []
    o = Ota(cfg, keyring={}, check=lambda *a, **k: None, on_healthy=lambda: calls.append(1))
    ota._service = o
    return o, calls


def _port(o, version="2.0"):
    """The maintenance port over a Station that has the OTA service `o` (or none)."""
    st = Station(config.defaults(), Bus(), version=version)
    st.attach(ota=o)
    return maint.server(st, None)


def _ring():
    log.flush()
    with open(TMP + "/log/log.0") as f:
        return f.read()


async def test_trial_is_confirmed_after_the_configured_health_time_with_one_line():
    o, calls = _ota(health_s=1)  # default 60 s; a test or a bench pile shortens it
    t = asyncio.create_task(o._health())
    for _ in range(100):  # bounded wait, no timing assert
        if o.confirmed:
            break
        await asyncio.sleep_ms(50)
    t.cancel()
    assert o.confirmed
    lines = [l for l in _ring().splitlines() if "OTA Confirmed" in l]
    assert len(lines) == 1 and lines[0].endswith("ota: OTA Confirmed v=2.0 slot=b"), lines
    st = thisboot.read_state()
    assert st["active"] == "b" and st["pending"] is None and st["counter"] == 5
    assert calls == [1]
    assert o.confirm_healthy() is False and calls == [1]  # once per boot


async def test_backend_reached_confirms_at_once():
    o, calls = _ota(health_s=3600)
    o.backend_reached()
    t = asyncio.create_task(o._health())
    await asyncio.sleep_ms(20)
    t.cancel()
    assert o.confirmed and calls == [1] and "OTA Confirmed v=2.0 slot=b" in _ring()


async def test_ota_status_and_check_on_the_service_port():
    o, _ = _ota(url="http://127.0.0.1:9/stable", allow_http=True)
    svc = _port(o)
    r = await svc.handle("ota status")
    assert r == ["ok slot=b trial=1 active=a pending=b version=2.0 counter=4 phase=idle result=- rolled_back=-"], r
    assert "ota" in (await svc.handle("help"))[0]
    assert not o._wake.is_set()
    assert await svc.handle("ota check") == ["ok check requested"]
    assert o._wake.is_set()  # the check loop wakes at once instead of after check_s
    o.busy, o.phase = True, "waiting_idle"
    assert await svc.handle("ota check") == ["err busy waiting_idle"]
    assert await svc.handle("ota") == ["err bad_args usage: ota <status|check>"]
    assert await svc.handle("ota reboot now") == ["err bad_args usage: ota <status|check>"]
    o.confirm_healthy()
    r = (await svc.handle("ota status"))[0]
    assert "trial=0 active=b pending=- version=2.0 counter=5" in r and "last=Installed/healthy/2.0" in r, r


async def test_ota_check_without_url_or_service_is_refused():
    o, _ = _ota(url="")
    assert await _port(o).handle("ota check") == ["err no_url ota.url is not configured"]
    ota._service = None
    svc = _port(None)
    assert await svc.handle("ota check") == ["err no_ota the OTA service is not running"]
    assert "phase=off" in (await svc.handle("ota status"))[0]
