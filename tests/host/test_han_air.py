"""The air (host_tools/han/air.py, docs/han.md §9): ZEP v2 datagrams from each node forwarded by
unicast to every other registered node, per-link delivery probability and latency from a topology
file, losses repeatable from the seed, every frame written once to a pcap, hellos and non-ZEP
datagrams never forwarded; board/zepradio.py (the virtual board's radio) against it under CPython."""
import os
import socket
import struct
import time

import pytest

from firmware.zigbee import mac
from host_tools.han import air as A
from host_tools.han import zep


def _node(port, dev):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.5)
    s.sendto(A.HELLO + struct.pack(">H", dev), ("127.0.0.1", port))
    return s


def _frame(n):
    return mac.data(n & 0xFF, 0x1A62, 0xFFFF, 0x0001, bytes((n & 0xFF,)) * 10, ack_req=False)


def _drain(s, wait=0.3):
    got = []
    end = time.monotonic() + wait
    while time.monotonic() < end:
        try:
            got.append(zep.decode(s.recv(512))["psdu"])
        except socket.timeout:
            break
    return got


def test_topology_parse():
    t = A.Topology.parse("# a line\n1 2 0.5 0.25 20\n2 3 1\n")
    assert t.link(1, 2) == (0.5, 0.02) and t.link(2, 1) == (0.25, 0.02)
    assert t.link(2, 3) == (1.0, 0.0) and t.link(3, 2) == (1.0, 0.0)
    assert t.link(1, 3) == (0.0, 0.0)  # not listed: absent
    assert A.Topology.parse("default 0.9 5\n1 2 1").link(1, 3) == (0.9, 0.005)
    assert A.Topology.parse("").link(7, 8) == (1.0, 0.0)
    for bad in ("1 2", "1 2 1.5", "x 2 1"):
        with pytest.raises(ValueError):
            A.Topology.parse(bad)


def test_forwarding_loss_latency_and_capture(tmp_path):
    cap = str(tmp_path / "air.pcap")
    topo = A.Topology.parse("1 2 1.0 1.0 0\n1 3 0.5 0.5 40\n2 3 1\n")
    with A.Air(topology=topo, seed=7, pcap_path=cap) as air:
        n1, n2, n3 = (_node(air.port, d) for d in (1, 2, 3))
        time.sleep(0.1)
        sent = [_frame(i) for i in range(40)]
        t0 = time.monotonic()
        for i, f in enumerate(sent):
            n1.sendto(zep.encode(f, 11, 1, i), ("127.0.0.1", air.port))
        n1.sendto(b"not zep", ("127.0.0.1", air.port))
        got2 = _drain(n2)
        got3 = _drain(n3, 0.6)
        dt3 = time.monotonic() - t0
        assert _drain(n1, 0.1) == []  # never back to the sender
        st = air.stats()
    assert got2 == sent  # probability 1: all, in order
    assert 5 < len(got3) < 35 and all(f in sent for f in got3)  # probability 0.5
    assert dt3 >= 0.04  # 40 ms latency
    assert st["frames"] == 40 and st["bad"] == 1 and st["hello"] == 3 and st["nodes"] == [1, 2, 3]
    assert st["lost"] == 40 - len(got3)
    with open(cap, "rb") as f:
        data = f.read()
    assert data[:4] == b"\xd4\xc3\xb2\xa1" and data.count(b"EX\x02\x01") == 40  # each frame once

    # the same frames with the same seed: the same losses
    with A.Air(topology=topo, seed=7) as air:
        m1, m2, m3 = (_node(air.port, d) for d in (1, 2, 3))
        time.sleep(0.1)
        for i, f in enumerate(sent):
            m1.sendto(zep.encode(f, 11, 1, i), ("127.0.0.1", air.port))
        again = _drain(m3, 0.6)
    assert again == got3


def test_board_radio_over_the_air():
    from board.zepradio import UdpZepRadio

    with A.Air() as air:
        a = UdpZepRadio(("127.0.0.1", air.port), 5)
        b = UdpZepRadio(("127.0.0.1", air.port), 6)
        time.sleep(0.1)
        assert b.recv() is None  # nothing waiting: returns at once
        f = _frame(3)
        a.send(f)
        deadline = time.monotonic() + 2
        got = None
        while got is None and time.monotonic() < deadline:
            got = b.recv()
        assert got == f and a.recv() is None
        with pytest.raises(Exception):
            a.send(bytes(128))
        a.close()
        b.close()


def test_configure_board(tmp_path):
    A.configure_board(str(tmp_path), 4242, 9)
    import json

    assert json.load(open(os.path.join(str(tmp_path), "radio.json"))) == {
        "air": ["127.0.0.1", 4242], "id": 9, "channel": 11}
