"""Protocols: each talks to a peer (a field engineer's cable, a back end) and acts on the pile
only through firmware.station (the command interface), listening to firmware.bus for what
happens. Domain modules never import anything here (../shared/tools/import_rules.py)."""
