# Soak: flapping Wi-Fi and cellular with short intervals under the default heap limit:
# memory flat after steady state, every task gone after stop(). Virtual time (FakeClock).
import asyncio
import gc
import random

from firmware import config
from firmware.net.link import LinkManager
from firmware.net.modem import Modem
from firmware.net.wifi import Wifi
from netfakes import FakeClock, FakeWlan, ModemRig, World, modem_cfg, net_cfg, wifi_cfg


async def test_flapping_links_hold_memory_flat_and_leave_no_tasks():
    clk = FakeClock()
    wlan = FakeWlan({"home": {"key": "secret-2", "rssi": -61, "up": True}}, clock=clk)
    wifi = Wifi(wlan, wifi_cfg(networks=[{"ssid": "home", "key": "secret-2"}]), clock=clk)
    rig = ModemRig(clock=clk)
    rig.start()
    cell = Modem(rig, modem_cfg(apn="cmnet"), clock=clk)
    world = World(clock=clk)
    world.links = {"wifi": wifi, "cellular": cell}
    from firmware.bus import Bus

    bus = Bus(clock=clk.ticks_ms)
    sub = bus.subscribe("link.", size=64)  # read every 2.5 s below: a bounded queue, no drops
    counts = {"link.up": 0, "link.down": 0}

    def tally():
        while True:
            ev = sub.get_nowait()
            if ev is None:
                return
            counts[ev.topic] += 1

    lm = LinkManager([wifi, cell], net_cfg(failback_ms=150, failover_ms=150, probe_ms=100),
                     config.defaults()["backend"], probe=world.probe, bus=bus, clock=clk)
    lm.start()
    random.seed(7)

    async def flap():
        while True:
            await clk.sleep_ms(100 + random.getrandbits(8))
            r = random.getrandbits(3)
            if r < 3:
                wlan.aps["home"]["up"] = not wlan.aps["home"]["up"]
            elif r == 3:
                rig.emu.drop_carrier()
            elif r == 4:
                world.reachable["wifi"] = not world.reachable["wifi"]
            del rig.emu.commands[:]  # the emulator's log, not the firmware's memory

    flapper = asyncio.create_task(flap())
    for _ in range(3):
        await clk.sleep_ms(2000)  # warm up: every path taken, buffers at their sizes
        tally()
    samples = []
    for i in range(8):
        await clk.sleep_ms(2500)
        tally()
        gc.collect()
        samples.append(gc.mem_alloc())
    flapper.cancel()
    await lm.stop()
    rig.stop()
    await clk.sleep_ms(50)
    for _ in range(3):
        await asyncio.sleep_ms(0)  # let the virtual clock's ticker see nobody sleeps
    tally()
    assert counts["link.up"] >= 10 and counts["link.down"] >= 10 and sub.dropped == 0, (counts, sub.dropped)
    # steady state: the later samples do not climb above the first ones
    assert max(samples[4:]) - max(samples[:4]) < 3072, samples
    # nothing left running or sleeping or waiting on the UART
    assert asyncio.core._task_queue.peek() is None
    assert not asyncio.core._io_queue.map
    assert not cell.at.running and not cell.isup()
