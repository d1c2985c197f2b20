"""Joining the Comms Hub's HAN in one process (firmware/han/hub.py, device.py; han.md §3, §5;
docs/han.md §11): a device in the CHF Device Log associates, receives the network key under its
install-code link key and runs CBKE; the hub stores the TC link key in the Device Log and both
sides hold the same key; an unlogged device is refused at association (status 0x02), the refusal
written to the hub's security log and alerted (0x8F48) once, and it never gets the network key;
after a reset both sides are back on the network from their stores; application frames are
APS-secured with the TC link key; replayed frames change nothing.

MP_HEAPSIZE: the hub role, both HAN stacks and the CBKE/P-256 code are compiled from source in
one process (on a board each node is its own process and the code is frozen)."""
MP_HEAPSIZE = "512K"
import _t
import han_fixtures as H
from firmware.hub import devicelog as D
from firmware.zigbee import zcl


def test_logged_device_joins_unlogged_refused():
    net = H.Net(2, logged=(0,), record=True)
    try:
        a, b = net.devs
        k = net.run(lambda: a.joined and b.refusals > 0)
        assert k is not None, (a.state, b.state)
        dl = net.hub.role.devlog
        key = dl.link_key(H.dev_eui(0))
        assert key is not None and key == a.tc_link and len(key) == 16
        assert key != a.ic_key  # CBKE's key, not the install-code key
        assert dl.find(H.dev_eui(1)) is None and b.link.nwk is None and b.state == 6
        codes = [c for c, t, p in dl.pending()]
        assert codes.count(D.JOIN_FAILED) == 1 and [p for c, t, p in dl.pending()
                                                    if c == D.JOIN_FAILED] == [H.dev_eui(1)]
        assert codes.count(D.DEVICE_LOG_CHANGED) == 2  # the add, then the TC link key's hash
        # the refused device keeps asking; the hub answers from RAM without logging again
        net.run(lambda: b.refusals >= 3, max_polls=20000)
        assert [c for c, t, p in dl.pending()].count(D.JOIN_FAILED) == 1
        assert net.hub.joins == 1 and net.hub.refusals >= 3
        # the network key reached only device 0, and only inside APS security
        assert a.nwk_key == net.hub.nwk_key
        assert all(net.hub.nwk_key not in f for _, f in net.air.frames)
    finally:
        net.cleanup()


def test_rejoin_after_reset_and_app_traffic():
    net = H.Net(1, logged=(0,))
    try:
        net.run(lambda: net.devs[0].joined)
        short = net.devs[0].link.short
        net.boot_hub()
        d = net.boot_dev(0)
        assert d.joined and d.link.short == short and net.hub.short_of(d.eui) == short
        got = []
        net.hub.on_app = lambda eui, f: got.append((eui, f.security, f.cluster, f.payload))
        d.link.send_zcl(d.coord, zcl.METERING, zcl.READ_ATTRIBUTES_RSP, b"\x00\x00\x00\x20\x03",
                        zcl.TO_CLIENT, ftype=zcl.GLOBAL, peer=d.tc)
        net.poll()
        assert len(got) == 1 and got[0][:3] == (d.eui, True, zcl.METERING)
        # the same frame again (a replay on air) is refused and changes nothing
        from firmware.han.memair import MemAir

        rec = MemAir(True)
        d.link.radio = rec.radio()
        rec.radio()
        d.link.send_zcl(d.coord, zcl.METERING, 0x01, b"", zcl.TO_CLIENT, peer=d.tc)
        frame = rec.frames[0][1]
        net.hub_radio.q.append(frame)
        net.hub.poll()
        assert len(got) == 2
        before = net.hub.link.dropped
        net.hub_radio.q.append(frame)
        net.hub.poll()
        assert len(got) == 2 and net.hub.link.dropped == before + 1
        # the hub talks back APS-secured; the device accepts it
        back = []
        d.link.radio = net.dev_radios[0]
        d.on_app = lambda eui, f: back.append((eui, f.security, f.cluster))
        net.hub.link.send_zcl(short, zcl.BASIC, zcl.READ_ATTRIBUTES, zcl.read_attributes([0]),
                              zcl.TO_SERVER, ftype=zcl.GLOBAL, peer=d.eui)
        net.poll()
        assert back == [(int.from_bytes(H.HUB_EUI, "big"), True, zcl.BASIC)]
    finally:
        net.cleanup()


def test_join_window_closed_refused():
    net = H.Net(1, logged=(0,))
    try:
        net.board.t = H.T0 + 3600  # the join window of CCS01 (3600 s) has ended
        net.run(lambda: net.devs[0].refusals > 0)
        assert net.hub.role.devlog.link_key(H.dev_eui(0)) is None and not net.devs[0].joined
    finally:
        net.cleanup()


def test_cbke_identity_of_another_device_refused():
    """A logged device presenting a KA key the hub was not provisioned with gets Terminate and no
    TC link key."""
    net = H.Net(1, logged=(0,))
    try:
        d = net.devs[0]
        d_store = d.store
        from firmware.core import trust

        ident = d_store.get_json(trust.ID_REC)
        ident["ka"] = "11" * 32  # not the key the hub knows for this EUI-64
        d_store.put_json(trust.ID_REC, ident)
        net.run(lambda: False, max_polls=400)
        assert net.hub.role.devlog.link_key(H.dev_eui(0)) is None and not d.joined
        assert d.link.nwk is not None  # it has the network key (install code) but no TC link key
    finally:
        net.cleanup()


def test_port_send_recv_between_joined_nodes():
    """firmware/han/port.py: the application's ZCL frames both ways under the TC link key; a
    device that has not joined cannot be sent to; a frame longer than the reassembly limit (4096) is
    refused (longer than one 802.15.4 frame: fragments, tests/unit/test_han_port_frag.py)."""
    from firmware.alerts import Reject
    from firmware.han.port import HanPort

    net = H.Net(2, logged=(0,))
    try:
        hp, dp = HanPort(net.hub), HanPort(net.devs[0])
        net.run(lambda: net.devs[0].joined and net.devs[1].refusals > 0)
        z = zcl.build(zcl.Header(zcl.CLUSTER, 7, zcl.TUNNEL_REQUEST), b"\x06\xff\xff\x00\xdc\x05")
        hp.send(H.dev_eui(0), zcl.TUNNELING, z)
        net.poll()
        assert dp.recv() == (H.HUB_EUI, zcl.TUNNELING, z) and dp.recv() is None
        dp.send(H.HUB_EUI, zcl.TUNNELING, z[:3])
        net.poll()
        assert hp.recv() == (H.dev_eui(0), zcl.TUNNELING, z[:3])
        assert hp.joined(H.dev_eui(0)) and not hp.joined(H.dev_eui(1))
        assert _t.raises(Reject, hp.send, H.dev_eui(1), zcl.TUNNELING, z).reason == "not-joined"
        assert _t.raises(Reject, hp.send, H.dev_eui(0), zcl.TUNNELING, bytes(4097)).reason == "too-large"
        hp.send(H.dev_eui(0), zcl.TUNNELING, bytes(57))  # the largest that fits
        net.poll()
        assert dp.recv() == (H.HUB_EUI, zcl.TUNNELING, bytes(57))
    finally:
        net.cleanup()


def test_refused_then_logged_joins():
    """A meter that asked before CCS01 logged it is refused, then joins at its next attempt once
    it is in the Device Log (the hub's refusal cache never hides a logged device)."""
    net = H.Net(1)
    try:
        d = net.devs[0]
        net.run(lambda: d.refusals >= 2, max_polls=20000)
        assert not d.joined and net.hub.role.devlog.find(H.dev_eui(0)) is None
        net.hub.role.devlog.add(H.dev_eui(0), H.code_of(0), 3600, True, H.T0)
        assert net.run(lambda: d.joined, max_polls=2000) is not None
    finally:
        net.cleanup()
