"""The pile's own front (docs/front.md): cards, codes, coins and app starts; voice, display
and indicators; smoke, water and door alarms; malicious-load detection.

A protocol-like client of the pile: it acts only through the command interface
(firmware/station.py) and hears the pile on the bus; it never imports the charging domain.
Its hardware comes from the board layer (firmware/board/front.py) as objects: byte
streams, a panel, a pulse count, an input byte. Every long-running part is its own
supervised task. Back ends reach it through the station (card answers, issued codes,
pending alarms). The parts: core.py (the hub), starts.py, cards.py + pn532.py, codes.py,
coins.py, keypad.py, display.py, voice.py, prompts.py, alarms.py, classify.py +
loadcheck.py; rules.py (config rules, CPython too). This module imports none of them.
"""


def qr_payload(cfg, port=0, url="https://upile.example/c/"):
    """What the pile's (port 0) or a port's QR code holds: <the operator's app URL><pile
    id>/<port> (the app's back end starts the session through its protocol: method remote).
    The URL is the operator's, printed with the code: not the pile's config."""
    return "%s%s/%d" % (url, cfg["pile"]["id"], port)
