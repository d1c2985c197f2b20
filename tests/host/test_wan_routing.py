"""The hub's WAN endpoint and routing (firmware/wan/, docs/wan.md) with a
CHF and an ESME built from a bench PKI, in process, joined by an in-memory HAN of the HAN interface's
shape (send / recv / poll), and a real TCP client on loopback:
  * a command for a device not in the Device Log is refused with alert 0x8F84, never forwarded, and
    the hub sends the originator a MAC'd GBCS alert 0x8F84 (verified with `cryptography`);
  * CCS01 from the bench ACB is processed by the CHF (response MAC verified) and CS14 comes back;
  * ECS42 and ECS45 travel WAN -> hub -> GBCS tunnel (ZSE Tunneling 0x0704, RequestTunnel GB-HRGP,
    TransferData PUT) -> ESME -> back, responses verified on the host; a replay is refused by the
    meter's gate and the refusal code comes back;
  * a GFI text line (`GBCS:DATA#0:N:HEX`) is answered in the same form;
  * an oversized frame is refused (0x8F1E) and the connection closed.
"""
import os

import pytest

from firmware.alerts import Reject
from firmware.zigbee import zcl
from host_tools.gbcs import hub as H
from host_tools.gbcs import usecases
from host_tools.keys import pki, provision

TUNNELING = 0x0704


class LoopHan:
    """In-memory HAN with the interface the WAN code uses; `sent` records every frame."""

    def __init__(self, eui):
        self.eui = bytes(eui)
        self.inbox = []
        self.peers = {}
        self.sent = []

    def link(self, other):
        self.peers[other.eui] = other
        other.peers[self.eui] = self

    def send(self, dst, cluster, frame):
        peer = self.peers.get(bytes(dst))
        if peer is None:
            raise Reject("han-unknown", None, "not joined")
        self.sent.append((bytes(dst), cluster, bytes(frame)))
        peer.inbox.append((self.eui, cluster, bytes(frame)))

    def recv(self):
        return self.inbox.pop(0) if self.inbox else None

    def poll(self):
        return None


def _role(keys, eui, name, d):
    from board.unix import Board
    from firmware import provisioning, roles
    from firmware.store.durable import Store

    st = Store(d)
    p = provision.payload(keys, eui, role=name)
    provisioning.apply(st, {k: v for k, v in p.items() if not k.startswith("_")}, eui, None)
    b = Board(d)
    return roles.build(name, b, st), b


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    from firmware.wan import node
    from firmware.wan.endpoint import Endpoint

    base = tmp_path_factory.mktemp("wan")
    keys = str(base / "pki")
    made = pki.create_bench_pki(keys, [("esme", 1), ("chf", 1)])
    meter_eui = next(e for e in made if e[4:6] == bytes((1, pki.DEVICE_TYPES["esme"])))
    hub_eui = next(e for e in made if e[4:6] == bytes((1, pki.DEVICE_TYPES["chf"])))
    hub, hb = _role(keys, hub_eui, "chf", str(base / "hub"))
    meter, _ = _role(keys, meter_eui, "esme", str(base / "meter"))
    hh, mh = LoopHan(hub_eui), LoopHan(meter_eui)
    hh.link(mh)
    ep = Endpoint("127.0.0.1", 0)
    port = ep.sock.getsockname()[1]
    hn = node.HubNode(hub, hh, ep, hb.ticks_ms)
    mn = node.MeterNode(meter, mh)
    c = H.WanClient("127.0.0.1", port, timeout=5)

    class Net:
        pass

    n = Net()
    n.__dict__.update(keys=keys, meter_eui=meter_eui, hub_eui=hub_eui, hub=hub, meter=meter, hh=hh, mh=mh,
                      ep=ep, port=port, hn=hn, mn=mn, c=c)

    def pump(fn):
        for _ in range(3000):
            hn.poll()
            mn.poll()
            try:
                return fn()
            except TimeoutError:
                pass
        raise TimeoutError("no answer")
    n.pump = pump

    def exchange(raw, client=c):
        client.send(raw)
        return pump(lambda: client.frame(0.001))
    n.exchange = exchange
    yield n
    c.close()
    ep.close()


def test_unlogged_device_refused_never_forwarded(net):
    raw, ctr = usecases.build("ECS42", net.keys, net.meter_eui)
    got = net.exchange(raw)
    assert got == b"\x8f\x84"
    assert net.hh.sent == [] and net.mh.inbox == []  # nothing went onto the HAN
    alert = net.pump(lambda: net.c.frame(0.001))
    v = H.verify_hub_message(alert, net.keys, net.hub_eui)
    assert v["cra"] == 3 and v["alert"] == "8F84"
    assert any("wan refused" in e for e in net.hub.seclog.entries())


def test_ccs01_processed_by_the_hub_then_cs14(net):
    raw, ctr = H.ccs01(net.keys, net.hub_eui, net.meter_eui, bytes.fromhex("0123456789abcdef0123456789abcdef"))
    rsp = net.exchange(raw)
    v = H.verify_hub_message(rsp, net.keys, net.hub_eui)
    assert v["cra"] == 2 and v["ok"] and v["counter"] == ctr, v
    assert net.hub.devlog.find(net.meter_eui) is not None
    cs14 = net.pump(lambda: net.c.frame(0.001))
    v = H.verify_hub_message(cs14, net.keys, net.hub_eui)
    assert v["cra"] == 3 and v["alert"] == "8F12" and v["message_code"] == "0018"
    assert net.hub.devlog.pending() == []  # sent: dropped from the durable queue


def test_ecs42_ecs45_through_the_tunnel_and_back(net):
    if net.hub.devlog.find(net.meter_eui) is None:
        net.hub.devlog.add(net.meter_eui, b"0123456789ABCDEF", 90, True, net.hub.now())
    raw, ctr = usecases.build("ECS42", net.keys, net.meter_eui)
    rsp = net.exchange(raw)
    v = usecases.verify_response(rsp, net.keys, net.meter_eui, ctr)
    assert v["ok"] and v["auth"].startswith("signature"), v
    frames = [zcl.parse(f) for d, cl, f in net.hh.sent if cl == TUNNELING]
    assert frames[0][0].cmd == zcl.TUNNEL_REQUEST and frames[0][1][0] == 6  # GB-HRGP
    assert frames[1][0].cmd == zcl.TUNNEL_TRANSFER_TO_SERVER and frames[1][1][2] == 3  # PUT
    assert frames[1][1][3:] == raw
    raw45, c45 = usecases.build("ECS45", net.keys, net.meter_eui)
    v = usecases.verify_response(net.exchange(raw45), net.keys, net.meter_eui, c45)
    assert v["ok"] and "load switch" in v["results"][0]
    assert net.exchange(raw) == b"\x8f\x60"  # the replay: refused by the meter's gate, code back


def test_meter_alert_comes_back_over_the_wan(net):
    """An alert the meter queues (its engine) goes to the hub through the open tunnel (TransferData
    PUT) and on to every WAN client; signed by the meter (generic critical alert 0x1000)."""
    from firmware.gbcs import dlms, frame
    from host_tools.gbcs import verify as V

    if net.hub.devlog.find(net.meter_eui) is None:
        net.hub.devlog.add(net.meter_eui, b"0123456789ABCDEF", 90, True, net.hub.now())
    raw, ctr = usecases.build("ECS45", net.keys, net.meter_eui)
    net.exchange(raw)  # the tunnel is open
    eng = net.meter.meter
    r = eng.r
    eng._alert(r, eng.r.get("t", 0) or 1800000000, 0x8F3E, "")
    eng._commit(r)
    seq = eng.alerts()[-1][0]

    def alert():
        f = net.c.frame(0.001)
        m = frame.parse(f)
        if m.cra != frame.CRA_ALERT or bytes(m.originator) != net.meter_eui:
            raise TimeoutError
        return m
    for _ in range(10):
        m = net.pump(alert)
        if dlms.decode(bytes(m.content[6:]))[1][0][1] == 0x8F3E:
            break
    assert m.message_code == 0x1000 and dlms.decode(bytes(m.content[6:]))[1][0][1] == 0x8F3E
    dev = pki.load_keystore(net.keys)[net.meter_eui]
    assert V.verify_signature(dev.public["ds"], m)
    assert net.meter.store.get_json("han_alert_seq", None)["seq"] >= seq


def test_gfi_text_line_answered_in_kind(net):
    import socket

    if net.hub.devlog.find(net.meter_eui) is None:
        net.hub.devlog.add(net.meter_eui, b"0123456789ABCDEF", 90, True, net.hub.now())
    raw, ctr = usecases.build("ECS45", net.keys, net.meter_eui)
    s = socket.create_connection(("127.0.0.1", net.port), timeout=5)
    s.settimeout(0.001)
    s.sendall(b"GBCS:DATA#0:%d:%s\r\n" % (len(raw), raw.hex().upper().encode()))
    buf = b""

    def line():
        nonlocal buf
        try:
            buf += s.recv(4096)
        except socket.timeout:
            pass
        if b"\n" not in buf:
            raise TimeoutError
        return buf
    out = net.pump(line)
    s.close()
    head, n, hexd = out.rstrip(b"\r\n").split(b":")[1:]
    assert out.startswith(b"GBCS:DATA#0:") and out.endswith(b"\r\n")
    rsp = bytes.fromhex(hexd.decode())
    assert int(n) == len(rsp)
    assert usecases.verify_response(rsp, net.keys, net.meter_eui, ctr)["ok"]


def test_oversized_frame_refused_and_closed(net):
    c = H.WanClient("127.0.0.1", net.port, timeout=5)
    c.sock.sendall(b"\x20\x00" + bytes(100))
    assert net.pump(lambda: c.frame(0.001)) == b"\x8f\x1e"
    with pytest.raises(ConnectionError):
        net.pump(lambda: c.frame(0.001))
    c.close()
