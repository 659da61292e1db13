"""Service-port board layer: the spare UART wired to the maintenance header (field engineers'
USB-serial cable, the factory line's test jig), as an asyncio stream.

Only machine.UART here, so the same code runs on the ESP32 and on the sim chip. The pins
are an assembly option of the PCB, so they come from config (`service.tx`/`service.rx`);
a UART1/2 without explicit pins would land on the module's flash pins, so none is opened.
"""
import asyncio

from machine import UART


def open_stream(sc):
    """asyncio stream (read/write/drain) over UART `sc["uart"]` at `sc["baud"]` 8N1."""
    if sc["tx"] < 0 or sc["rx"] < 0:
        raise ValueError("service.tx/service.rx not set (no maintenance header on this board)")
    uart = UART(sc["uart"], baudrate=sc["baud"], bits=8, parity=None, stop=1, tx=sc["tx"], rx=sc["rx"],
                rxbuf=256, timeout=0)
    return asyncio.StreamReader(uart)
