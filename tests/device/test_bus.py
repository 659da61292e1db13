# heapsize: 64K
# The event bus: bounded per-subscriber queues, topic prefixes, wall time or None.
import asyncio

from firmware.bus import Bus


def test_subscriber_gets_only_its_topics_in_order():
    b = Bus()
    ports = b.subscribe("port.")
    sess = b.subscribe("session.", "alarm.")
    b.publish("port.status", {"port": 1, "status": "Charging"})
    b.publish("session.started", {"id": 7})
    b.publish("alarm.smoke", {"on": True})
    b.publish("port.status", {"port": 2, "status": "Faulted"})
    assert [e.data["port"] for e in (ports.get_nowait(), ports.get_nowait())] == [1, 2]
    assert ports.get_nowait() is None
    assert [sess.get_nowait().topic, sess.get_nowait().topic] == ["session.started", "alarm.smoke"]


def test_full_queue_drops_oldest_and_counts_without_blocking():
    b = Bus()
    slow = b.subscribe("", size=4)
    for i in range(10):
        b.publish("session.sample", {"i": i})  # nobody reads: the publisher must not wait
    assert slow.pending() == 4 and slow.take_dropped() == 6 and slow.take_dropped() == 0
    assert [slow.get_nowait().data["i"] for _ in range(4)] == [6, 7, 8, 9]


def test_event_carries_ticks_and_wall_time_when_known():
    clock = [1000]
    wall = [None]
    b = Bus(wall=lambda: wall[0], clock=lambda: clock[0])
    s = b.subscribe()
    b.publish("time.set", {})
    e = s.get_nowait()
    assert e.ms == 1000 and e.unix is None  # time not yet known: said, not invented
    wall[0] = 1767225600
    clock[0] = 2000
    b.publish("time.set", {})
    e = s.get_nowait()
    assert e.ms == 2000 and e.unix == 1767225600


def test_waiting_subscriber_wakes_on_publish():
    b = Bus()
    s = b.subscribe("link.")
    got = []

    async def reader():
        got.append((await s.get()).topic)
        got.append((await s.get()).topic)

    async def main():
        t = asyncio.create_task(reader())
        await asyncio.sleep_ms(0)
        b.publish("link.up", {"link": "wifi"})
        b.publish("port.status", {})
        b.publish("link.down", {"link": "wifi"})
        for _ in range(10):
            if len(got) == 2:
                break
            await asyncio.sleep_ms(1)
        t.cancel()

    asyncio.run(main())
    assert got == ["link.up", "link.down"]


def test_unsubscribed_queue_stops_filling():
    b = Bus()
    s = b.subscribe()
    b.unsubscribe(s)
    b.publish("port.status", {})
    assert s.pending() == 0
