"""APS fragments on air (ZigBee spec 2.2.8.4.5, 4.4.1): the block size of firmware.zigbee.frag fills
a 127-byte PSDU exactly under each framing (MAC, NWK with security, APS with its extended header
and security), and APS security applies to each block as its own frame (own counter, own MIC over
the extended header, replay-checked) before reassembly."""
import _t

# Compiled from source here, the APS/CCM*/fragmentation modules and this file leave the heap in
# pieces smaller than a 4096-byte reassembly buffer at 96K; as deployed (.mpy) the receiver fits
# in 96K with 4 KB ASDUs: tests/host/test_zigbee_frag_heap.py.
MP_HEAPSIZE = "256K"
from firmware.alerts import Reject
from firmware.zigbee import aps, frag, mac, nwk
from firmware.zigbee import security as sec

U = _t.unhex
LINK = U("17E92CAAA342C367E8EDDC58EEBA69ED")
NWK_KEY = U("C0FFEE00112233445566778899AABBCC")
HUB = 0x00DB1234567890A2
METER = 0x00DB123456789093


class Clock:
    def __call__(self):
        return 0


def _msg(n):
    return bytes((i * 7 + (i >> 8)) & 0xFF for i in range(n))


def _sender(payload, block):
    return frag.Sender(payload, 0x5A, 1, 0x0704, aps.PROFILE_SE, 1, block)


def test_block_size_fills_one_psdu():
    assert frag.max_block() == 71
    assert frag.max_block(src_ieee=True, ext_nonce=True) == 55
    assert frag.max_block(nwk_secure=False, aps_secure=False) == 98
    _t.raises(Reject, frag.max_block, relays=60)
    for src_ieee, ext_nonce in ((False, False), (True, True), (True, False)):
        b = frag.max_block(src_ieee=src_ieee, ext_nonce=ext_nonce)
        tx = _sender(_msg(3 * b), b)
        for i in range(3):
            a = tx.frame(i)
            a.aux = sec.Aux(sec.KEY_DATA, 100 + i, src=HUB if ext_nonce else None)
            a.security = True
            n = nwk.NwkFrame(nwk.DATA, 0x4F21, 0x0000, i, payload=aps.build(a, LINK, HUB),
                          aux=sec.Aux(sec.KEY_NWK, 7 + i, src=HUB, key_seq=0),
                          src_ext=HUB if src_ieee else None)
            psdu = mac.data(i, 0x1A62, 0x4F21, 0x0000, nwk.build(n, NWK_KEY))
            assert len(psdu) == frag.PSDU, (src_ieee, ext_nonce, len(psdu))

def test_per_block_aps_security_with_durable_counters():
    from firmware.store.durable import Store
    from firmware.zigbee.secure import ApsSecurity

    import os
    from binascii import hexlify

    root = "/tmp/zb_frag_%s" % hexlify(os.urandom(4)).decode()
    keys = {HUB: LINK, METER: LINK}
    hub = ApsSecurity(Store(root + "h"), HUB, keys.get)
    meter = ApsSecurity(Store(root + "m"), METER, keys.get)
    m = _msg(146 + 5)  # a ZCL TransferData header + tunnel id + RTDS ECS42's 146 bytes
    block = frag.max_block(ext_nonce=True)
    tx = frag.Sender(m, 0x21, 1, 0x0704, aps.PROFILE_SE, 1, block)
    rx = frag.Reassembler(Clock())
    airs = [hub.seal(tx.frame(i), METER) for i in tx.window()]
    assert len(airs) == 3
    fcs = [aps.parse(r).aux.fc for r in airs]
    assert fcs[1] == fcs[0] + 1 and fcs[2] == fcs[1] + 1  # one counter per block
    # each block has its own MIC; the extended header is authenticated
    bad = bytearray(airs[1])
    bad[9] ^= 0x03  # block number 1 -> 2
    e = _t.raises(Reject, meter.open, bytes(bad), HUB)
    assert e.reason == "mic"
    for i, raw in enumerate(airs):
        f = meter.open(raw, HUB)
        assert f.frag and f.payload == m[i * block:(i + 1) * block]
        out, ack = rx.add(HUB, f)
    assert out == m and tx.on_ack(ack)
    e = _t.raises(Reject, meter.open, airs[1], HUB)
    assert e.reason == "replay"
