"""Our own asyncio SNTP client (RFC 4330): one request, non-blocking UDP, a timeout.

The frozen `ntptime` blocks the event loop for up to its socket timeout; this never does
(except the DNS lookup of a host name, which MicroPython only offers blocking: configure an
address to avoid it).
"""
import asyncio
import socket
import struct
import time

_NTP_DELTA = 2208988800  # 1900 -> 1970


class NtpError(Exception):
    """args[0]: reason ("timeout", "bad_reply", "dns", "socket")."""


async def query(host, port=123, timeout_ms=3000):
    """Ask one server; return unix seconds (float) corrected by half the round trip."""
    try:
        addr = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0][-1]
    except (OSError, IndexError):
        raise NtpError("dns")
    pkt = bytearray(48)
    pkt[0] = 0x1B  # LI 0, version 3, mode 3 (client)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setblocking(False)
        t0 = time.ticks_ms()
        try:
            s.sendto(pkt, addr)
        except OSError:
            raise NtpError("socket")
        while True:
            try:
                n = s.readinto(pkt)
                if n == 48:
                    break
            except OSError:
                pass  # EAGAIN: nothing yet
            if time.ticks_diff(time.ticks_ms(), t0) >= timeout_ms:
                raise NtpError("timeout")
            await asyncio.sleep_ms(20)
        rtt = time.ticks_diff(time.ticks_ms(), t0)
    finally:
        s.close()
    mode, stratum = pkt[0] & 7, pkt[1]
    secs, frac = struct.unpack_from("!II", pkt, 40)
    if mode != 4 or stratum == 0 or secs == 0:
        raise NtpError("bad_reply")  # stratum 0 = kiss-o'-death
    return secs - _NTP_DELTA + frac / 4294967296 + rtt / 2000


async def sync(time_sync, host, port=123, timeout_ms=3000):
    """query() then record it as source "ntp"; returns True on success, False otherwise."""
    try:
        unix = await query(host, port, timeout_ms)
    except NtpError:
        return False
    return time_sync.set("ntp", int(unix))
