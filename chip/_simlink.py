"""The sim chip's wire to its harness: one line-based TCP link (env UPILE_SIM_LINK=port).

Chip -> harness lines: `pin N LEVEL`, `uart ID BAUD BITS PARITY STOP SEQ`, `uartoff ID SEQ`,
`uartlost ID TOTAL` (RX overflow), `reset hard|soft`, `deepsleep MS`, `wdt MS`, `feed`,
`rtc OFFSET`, `wlan active 0|1`, `wlan connect SSID KEY`, `wlan disconnect`,
`ppp connect UART_ID`, `ppp disconnect`, `i2c SEQ BUS ADDR WHEX RLEN` (one I2C transaction:
write WHEX, "-" for none, then RLEN bytes read after a repeated start; the harness answers
it). Harness -> chip lines: `pin N LEVEL`, `glitch N LEVEL US` (a pulse to LEVEL and back, US
microseconds long: too short for a read to see, edges for IRQs and counters), `adc N RAW`,
`net JSON` (link state), `i2cr SEQ ack|nack|none HEX` (the answer to an i2c line). Incoming
lines are drained without blocking whenever a shim asks for state, so the chip never needs a
thread (the Unix port's threads have no GIL); a shim that needs an answer (I2C) waits for its line.
"""
import os
import json
import select
import usocket
import time

_ECHIP = "sim chip: no harness link (UPILE_SIM_LINK unset)"

def _env_map(name):
    # "5=1,6=0": the levels the harness had set before this boot (pins are outside the chip)
    out = {}
    for item in (os.getenv(name) or "").split(","):
        if "=" in item:
            k, v = item.split("=")
            out[int(k)] = int(v)
    return out


inputs = _env_map("UPILE_SIM_PINS")   # pin -> level set by the harness
adc = _env_map("UPILE_SIM_ADC")       # pin -> raw 12-bit reading set by the harness
net = {"wlan": {"status": 1000, "rssi": 0, "ip": "0.0.0.0", "ssid": ""}, "ppp": {"up": False, "ip": "0.0.0.0"},
       "aps": [], "up": False}
_handlers = {}   # pin -> (callable, trigger mask); IRQs run from drain()
_counters = {}   # pin -> [machine.Counter]: edges counted as they are applied
_replies = {}    # i2c answers by sequence number
_seq = 0
_sock = None
_poll = None
_buf = b""


def _connect():
    global _sock, _poll
    port = os.getenv("UPILE_SIM_LINK")
    if not port:
        return None
    s = usocket.socket(usocket.AF_INET, usocket.SOCK_STREAM)
    s.connect(usocket.getaddrinfo("127.0.0.1", int(port))[0][-1])
    _sock = s
    _poll = select.poll()
    _poll.register(s, select.POLLIN)
    return s


def send(line):
    """Send one line to the harness (blocking: the link is local and never full for long)."""
    if _sock is None and _connect() is None:
        return
    data = (line + "\n").encode()
    mv = memoryview(data)
    while mv:
        n = _sock.write(mv)
        mv = mv[n or 0:]


def drain():
    """Apply every line the harness has sent since the last call; run pin IRQs."""
    global _buf
    if _sock is None:
        return
    while _poll.poll(0):
        chunk = _sock.recv(256)  # small: recv allocates this before it trims (a sim-only allocation)
        if not chunk:
            break
        _buf += chunk
    while b"\n" in _buf:
        line, _buf = _buf.split(b"\n", 1)
        _apply(line.decode())


def _apply(line):
    kind, _, rest = line.partition(" ")
    if kind == "pin":
        n, level = rest.split()
        n, level = int(n), int(level)
        old = inputs.get(n)
        inputs[n] = level
        if old is not None and old != level:
            _edge(n, level, None)
    elif kind == "glitch":
        # a pulse shorter than any read: the level stays, the two edges still happen
        n, level, us = (int(x) for x in rest.split())
        if inputs.get(n, 1 - level) != level:
            _edge(n, level, us)
            _edge(n, 1 - level, us)
    elif kind == "i2cr":
        seq, _, answer = rest.partition(" ")
        _replies[int(seq)] = answer
    elif kind == "adc":
        n, raw = rest.split()
        adc[int(n)] = int(raw)
    elif kind == "net":
        net.update(json.loads(rest))


def _edge(n, level, width_us):
    h = _handlers.get(n)
    # ESP32 values: IRQ_RISING = 1, IRQ_FALLING = 2
    if h and h[1] & (1 if level else 2):
        h[0](h[2])
    for c in _counters.get(n, ()):
        c._edge(level, width_us)


def add_counter(pin, counter):
    lst = _counters.setdefault(pin, [])
    if counter not in lst:
        lst.append(counter)


def drop_counter(counter):
    for lst in _counters.values():
        if counter in lst:
            lst.remove(counter)


def request(line, timeout_ms=1000):
    """Send `i2c`-style request `line` (its sequence number is added) and wait for the
    harness's answer: the text after `i2cr SEQ`, or None after timeout_ms."""
    global _seq
    if _sock is None and _connect() is None:
        return None
    _seq = (_seq + 1) & 0xFFFFFF
    seq = _seq
    send(line.replace("SEQ", str(seq), 1))
    end = time.ticks_add(time.ticks_ms(), timeout_ms)
    while True:
        drain()
        if seq in _replies:
            return _replies.pop(seq)
        left = time.ticks_diff(end, time.ticks_ms())
        if left <= 0:
            return None
        _poll.poll(min(left, 20))


def wait(ms):
    """Sleep `ms` while still applying harness lines (used by blocking shims)."""
    end = time.ticks_add(time.ticks_ms(), ms)
    while True:
        drain()
        left = time.ticks_diff(end, time.ticks_ms())
        if left <= 0:
            return
        if _poll is not None:
            _poll.poll(min(left, 20))
        else:
            time.sleep_ms(min(left, 20))


def set_irq(pin, handler, trigger, obj):
    if handler is None:
        _handlers.pop(pin, None)
    else:
        _handlers[pin] = (handler, trigger, obj)


def links_up():
    drain()
    return bool(net.get("up"))


def env_int(name, default):
    v = os.getenv(name)
    return int(v) if v else default


parts = None     # the partition file (esp32.Partition, NVS), opened by _start.py
rtcmem = None    # the RTC memory file (machine.RTC.memory), opened by _start.py
