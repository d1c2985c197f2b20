"""A premises test with the smlab pytest plugin: a Comms Hub and an ESME on one simulated HAN,
flashed and provisioned by the `smlab_premises` fixture; `smlab_han_capture` is the air's pcap.
Run by tests/host/test_pytest_plugin.py in a subprocess (not collected by the main suite)."""
import socket
import struct


def test_premises_boards_and_capture(smlab_premises, smlab_han_capture):
    p = smlab_premises
    assert [vb.state() for vb in p.boards()] == ["running", "running"]
    assert len(p.meter_euis) == 1 and p.hub_eui not in p.meter_euis
    socket.create_connection(p.wan, 5).close()  # the hub's WAN endpoint answers on loopback
    with open(smlab_han_capture, "rb") as f:
        magic, major, _minor = struct.unpack("<IHH", f.read(8))
    assert magic == 0xA1B2C3D4 and major == 2  # a pcap file the air writes
