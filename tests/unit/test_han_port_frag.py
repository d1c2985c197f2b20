"""firmware/han/port.py with APS fragmentation (ZigBee spec 2.2.8.4.5; firmware/zigbee/frag.py): a
ZCL frame longer than one 802.15.4 frame (a GBCS message in the tunnel) crosses the HAN as APS-secured
blocks and is reassembled and acknowledged; a lost window is sent again after RETRY_MS; messages
queued for one peer arrive in order; beyond the reassembly limit a message is refused.

MP_HEAPSIZE: as tests/unit/test_han_join.py (the hub role, both HAN stacks and CBKE compiled from
source in one process)."""
MP_HEAPSIZE = "512K"
import _t
import han_fixtures as H
from firmware.zigbee import zcl


def _joined():
    from firmware.han.port import HanPort

    net = H.Net(1, logged=(0,), record=True)
    hp, dp = HanPort(net.hub), HanPort(net.devs[0])
    assert net.run(lambda: net.devs[0].joined) is not None
    return net, hp, dp


def _run(net, ports, until, max_polls=400):
    """Poll the ports (each polls its node, then its timers) until until() holds."""
    for _ in range(max_polls):
        if until():
            return True
        for p in ports:
            p.poll()
        net.clock.t += 5
    return until()


def _until(net, ports, port, n=1, max_polls=400):
    got = []

    def done():
        while True:
            f = port.recv()
            if f is None:
                break
            got.append(f)
        return len(got) >= n
    _run(net, ports, done, max_polls)
    return got


def test_long_frames_cross_as_fragments_both_ways():
    net, hp, dp = _joined()
    try:
        big = bytes((i * 7) & 0xFF for i in range(300))
        before = len(net.air.frames)
        hp.send(H.dev_eui(0), zcl.TUNNELING, big)
        assert _until(net, (hp, dp), dp) == [(H.HUB_EUI, zcl.TUNNELING, big)]
        sent = net.air.frames[before:]
        hub_frames = [p for i, p in sent if i == 0]
        assert len(hub_frames) == 6  # ceil(300 / 55) blocks, one 802.15.4 frame each
        assert all(len(p) <= 127 for _, p in sent)
        assert _run(net, (hp, dp), lambda: not hp.tx, 5)  # the device's APS ack completed it
        assert len([1 for i, p in net.air.frames[before:] if i == 0]) == 6  # no block sent again
        back = bytes(range(200))
        dp.send(H.HUB_EUI, zcl.TUNNELING, back)
        assert _until(net, (hp, dp), hp) == [(H.dev_eui(0), zcl.TUNNELING, back)]
        assert hp.failed == 0 and dp.failed == 0
    finally:
        net.cleanup()


def test_lost_window_resent_and_queue_in_order():
    from firmware.alerts import Reject

    net, hp, dp = _joined()
    try:
        a, b = bytes(range(120)), bytes(range(100, 250))
        net.air.down.add(1)  # the device's radio is off: the first window is lost
        hp.send(H.dev_eui(0), zcl.TUNNELING, a)
        hp.send(H.dev_eui(0), zcl.TUNNELING, b)  # waits behind the first
        _run(net, (hp, dp), lambda: False, 10)
        assert dp.recv() is None
        net.air.down.discard(1)
        got = _until(net, (hp, dp), dp, 2)
        assert got == [(H.HUB_EUI, zcl.TUNNELING, a), (H.HUB_EUI, zcl.TUNNELING, b)]
        assert _t.raises(Reject, hp.send, H.dev_eui(0), zcl.TUNNELING, bytes(5000)).reason == "too-large"
    finally:
        net.cleanup()
