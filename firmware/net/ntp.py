"""Our own asyncio SNTP client (RFC 4330): one request, non-blocking UDP, a timeout.

The frozen `ntptime` blocks the event loop for up to its socket timeout; this never does
(except the DNS lookup of a host name, which MicroPython only offers blocking: configure an
address to avoid it). The request carries a random transmit timestamp that the reply must
echo (a stale or spoofed datagram is ignored, not believed).
"""
import asyncio
import os
import socket
import struct
import time

_NTP_DELTA = 2208988800  # 1900 -> 1970


class NtpError(Exception):
    """args[0]: reason ("timeout", "bad_reply", "short_reply", "dns", "socket")."""


async def query(host, port=123, timeout_ms=3000):
    """Ask one server; return unix seconds (float) corrected by half the round trip."""
    try:
        addr = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0][-1]
    except (OSError, IndexError):
        raise NtpError("dns")
    pkt = bytearray(48)
    pkt[0] = 0x1B  # LI 0, version 3, mode 3 (client)
    nonce = os.urandom(8)
    pkt[40:48] = nonce  # transmit timestamp: the server copies it to "originate"
    rx = bytearray(64)  # room for a longer (malformed) datagram: truncation must not hide it
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
                n = s.readinto(rx)  # None: nothing yet (EAGAIN)
            except OSError:
                n = None  # ICMP unreachable (ECONNREFUSED) and friends: wait for the timeout
            if n is not None:
                if n < 48:
                    raise NtpError("short_reply")
                if rx[24:32] == nonce:
                    break
                # not the answer to our request (stale or spoofed): keep listening
            if time.ticks_diff(time.ticks_ms(), t0) >= timeout_ms:
                raise NtpError("timeout")
            await asyncio.sleep_ms(20)
        rtt = time.ticks_diff(time.ticks_ms(), t0)
    finally:
        s.close()
    mode, stratum = rx[0] & 7, rx[1]
    secs, frac = struct.unpack_from("!II", rx, 40)
    if mode != 4 or stratum == 0 or stratum > 15 or secs == 0 or (rx[0] >> 6) == 3:
        raise NtpError("bad_reply")  # stratum 0 = kiss-o'-death; LI 3 = server unsynchronised
    return secs - _NTP_DELTA + frac / 4294967296 + rtt / 2000


async def sync(time_sync, host, port=123, timeout_ms=3000):
    """query() then record it as source "ntp": True on success, else False with the reason
    (an NtpError reason or "implausible") in time_sync.ntp_error for status()."""
    try:
        unix = await query(host, port, timeout_ms)
    except NtpError as e:
        time_sync.ntp_error = e.args[0]
        return False
    time_sync.ntp_error = None
    if not time_sync.set("ntp", int(unix + 0.5)):
        time_sync.ntp_error = "implausible"
        return False
    return True
