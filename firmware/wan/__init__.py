"""The Comms Hub's WAN side and GBCS routing (GBCS §4.3.1 Comms Hub, §10.2.2 tunnelling of Remote
Party Messages over the HAN): framing.py (raw GBCS messages on a byte stream), endpoint.py (the TCP
listener), tunnel.py (the GBCS tunnel over the ZSE Tunneling cluster, both ends), router.py (where a
message for the hub, a logged device or an unknown device goes), node.py (wiring for the app loop).
Loaded with the application on boards that have a WAN or a HAN, never with the command gate."""
