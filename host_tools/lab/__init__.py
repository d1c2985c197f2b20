"""The distributed bench on labgrid: boards exported by labgrid exporters, places reserved and acquired
through a labgrid coordinator, campaigns driving the acquired boards' UARTs (docs/lab.md).

`exporter` writes the exporter configuration (and the places with their tags) for the boards on a
host; `client` is the campaign's side of the coordinator (labgrid's Python client API: places,
reservations by tags, acquire/release, the network ports of an acquired place); `procs` starts a
coordinator and exporters; `remote` is a board reached through an acquired place.
"""
