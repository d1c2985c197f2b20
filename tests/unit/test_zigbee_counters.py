"""ZigBee frame counters through the durable store: outgoing counters reserved write-ahead in
blocks (no value handed out twice across simulated power cuts), incoming counters with replay
rejection persisted before use, and the install-code key transport checked against them."""
import _t
from firmware.alerts import Reject
from firmware.crypto import zigbee as zb
from firmware.store.durable import Store
from firmware.zigbee import keytransport
from firmware.zigbee.counters import OutCounter, InCounters

U = _t.unhex
TC = 0x3C2EF5FFFE48596C
JOINER = 0x28DBA7FFFE23B07D


def _store(tag):
    import os
    from binascii import hexlify

    return "/tmp/zb_%s_%s" % (tag, hexlify(os.urandom(4)).decode())


def test_install_code_key_transport_with_replay():
    root = _store("kt")
    st = Store(root)
    code = U("83FED3407A939723A5C639B26916D505")
    link = zb.install_code_link_key(code + U("C3B5"))
    assert link == U("66B6900981E1EE3CA4206B6B861C02BB")
    nwk_key = U("00112233445566778899AABBCCDDEEFF")
    out = OutCounter(st, "zb-aps-out")
    frames = [keytransport.seal_nwk_key(link, nwk_key, 3, TC, JOINER, i, out.next())
              for i in range(2)]
    inc = InCounters(st, "zb-aps-in")
    assert keytransport.open_nwk_key(frames[0], link, TC, JOINER, inc) == (nwk_key, 3)
    assert keytransport.open_nwk_key(frames[1], link, TC, JOINER, inc) == (nwk_key, 3)
    e = _t.raises(Reject, keytransport.open_nwk_key, frames[0], link, TC, JOINER, inc)
    assert e.reason == "replay"
    # after a reset the last accepted counter is still known
    inc2 = InCounters(Store(root), "zb-aps-in")
    _t.raises(Reject, keytransport.open_nwk_key, frames[1], link, TC, JOINER, inc2)
    _t.rmtree(root)


def test_out_counter_write_ahead_across_power_cuts():
    root = _store("out")
    st = Store(root)
    c = OutCounter(st, "zb-nwk-out", block=16)
    used = [c.next() for _ in range(20)]
    assert used == list(range(20))
    assert c.reserved == 32  # written twice (0 -> 16, 16 -> 32), not 20 times
    # power cut: a new instance on the same flash never hands out a used value
    c2 = OutCounter(Store(root), "zb-nwk-out", block=16)
    v = c2.next()
    assert v == 32 and v > max(used)
    # a cut right after a reservation was written but before any frame went out
    c3 = OutCounter(Store(root), "zb-nwk-out", block=16)
    assert c3.next() == 48
    _t.rmtree(root)


def test_out_counter_exhaustion():
    root = _store("exh")
    st = Store(root)
    st.counter("zb-x").advance_to(0xFFFFFFFF)
    c = OutCounter(st, "zb-x", block=4)
    assert c.next() == 0xFFFFFFFF
    e = _t.raises(Reject, c.next)
    assert e.reason == "counter-exhausted"
    _t.rmtree(root)


def test_in_counters_replay_capacity_and_blocks():
    root = _store("in")
    st = Store(root)
    inc = InCounters(st, "zb-nwk-in", capacity=2)
    inc.accept(1, 10)
    _t.raises(Reject, inc.accept, 1, 10)
    _t.raises(Reject, inc.accept, 1, 9)
    inc.accept(1, 11)
    inc.accept(2, 0)
    e = _t.raises(Reject, inc.check, 3, 0)
    assert e.reason == "no-resources"
    assert InCounters(Store(root), "zb-nwk-in").last(1) == 11
    inc.forget(2)
    assert InCounters(Store(root), "zb-nwk-in").last(2) is None
    lazy = InCounters(st, "zb-lazy", every=3)
    lazy.accept(5, 1)
    lazy.accept(5, 2)
    assert InCounters(Store(root), "zb-lazy").last(5) is None
    lazy.accept(5, 3)
    assert InCounters(Store(root), "zb-lazy").last(5) == 3
    _t.rmtree(root)
