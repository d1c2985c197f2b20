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


class _Cut(Exception):
    pass


def _cut_after(st, n):
    """Make the store's n-th next atomic write fail before its rename (a power cut mid-write:
    the record keeps its old value)."""
    real = st._write_atomic
    left = [n]

    def write(fname, *parts):
        left[0] -= 1
        if left[0] < 0:
            raise _Cut()
        return real(fname, *parts)

    st._write_atomic = write


def test_out_counter_cut_at_every_reservation_write():
    root = _store("cut")
    handed = []
    for cut in range(6):  # a power cut at the 1st..6th reservation write of successive boots
        st = Store(root)
        c = OutCounter(st, "zb-cut", block=4)
        _cut_after(st, 1)
        try:
            for _ in range(9):
                handed.append(c.next())
        except _Cut:
            pass
    # no counter was ever handed out twice, across every cut and reboot
    assert len(handed) == len(set(handed)) and len(handed) > 6
    assert handed == sorted(handed)
    _t.rmtree(root)


def test_secure_nwk_and_aps_sessions():
    from firmware.zigbee import aps, nwk
    from firmware.zigbee.secure import ApsSecurity, NwkSecurity

    root = _store("sess")
    key = U("C0FFEE00112233445566778899AABBCC")
    link = U("17E92CAAA342C367E8EDDC58EEBA69ED")
    hub = NwkSecurity(Store(root + "h"), TC, key, block=8)
    met = NwkSecurity(Store(root + "m"), JOINER, key, block=8)
    raws = [hub.seal(nwk.NwkFrame(nwk.DATA, 0x1234, 0x0000, i, payload=b"p%d" % i)) for i in range(3)]
    assert [met.open(r).payload for r in raws] == [b"p0", b"p1", b"p2"]
    e = _t.raises(Reject, met.open, raws[1])
    assert e.reason == "replay"
    # a forged frame (bad MIC) with a fresh counter is refused and does not advance the counter
    forged = bytearray(hub.seal(nwk.NwkFrame(nwk.DATA, 0x1234, 0, 9, payload=b"x")))
    forged[-1] ^= 1
    _t.raises(Reject, met.open, bytes(forged))
    assert met.inc.last(TC) == 2
    # after a reset the hub continues above its reservation, the meter still refuses old frames
    hub2 = NwkSecurity(Store(root + "h"), TC, key, block=8)
    met2 = NwkSecurity(Store(root + "m"), JOINER, key, block=8)
    _t.raises(Reject, met2.open, raws[2])
    r = hub2.seal(nwk.NwkFrame(nwk.DATA, 0x1234, 0, 10, payload=b"after"))
    assert met2.open(r).payload == b"after" and met2.inc.last(TC) >= 8
    # APS: link keys per peer, the sender must be the NWK-layer sender
    ah = ApsSecurity(Store(root + "ha"), TC, {JOINER: link}.get)
    am = ApsSecurity(Store(root + "ma"), JOINER, {TC: link}.get)
    f = aps.ApsFrame(aps.DATA, 1, dst_ep=1, cluster=0x0702, profile=0x0109, src_ep=1, payload=b"zcl")
    raw = ah.seal(f, JOINER)
    _t.raises(Reject, am.open, raw, TC + 1)
    assert am.open(raw, TC).payload == b"zcl"
    _t.raises(Reject, am.open, raw, TC)
    _t.raises(Reject, ah.seal, f, 0x1111)  # no link key for that peer
    for suffix in ("h", "m", "ha", "ma"):
        _t.rmtree(root + suffix)
