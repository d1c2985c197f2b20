"""APS fragmentation and reassembly (ZigBee spec 2.2.8.4.5, extended header 2.2.5.1.8): extended
header bytes assembled from the field table, split and reassemble round trips for every size
around each block boundary up to 4096 bytes through the APS codec, window acks with the bitfields
of the spec's retransmission scenario, out-of-order, duplicate, missing and out-of-range blocks,
oversized ASDUs, slot and timeout bounds on a virtual clock. Block size against a full PSDU and
per-block APS security: test_zigbee_frag_secure.py."""
import _t

# Compiled from source here, the APS/CCM*/fragmentation modules and this file leave the heap in
# pieces smaller than a 4096-byte reassembly buffer at 96K; as deployed (.mpy) the receiver fits
# in 96K with 4 KB ASDUs: tests/host/test_zigbee_frag_heap.py.
MP_HEAPSIZE = "256K"
from firmware.alerts import Reject
from firmware.zigbee import aps, frag

U = _t.unhex


class Clock:
    def __init__(self):
        self.t = 0

    def __call__(self):
        return self.t


def _msg(n):
    return bytes((i * 7 + (i >> 8)) & 0xFF for i in range(n))


def _sender(payload, block=frag.max_block(), window=frag.WINDOW, counter=0x5A):
    return frag.Sender(payload, counter, 1, 0x0704, aps.PROFILE_SE, 1, block, window)


def _transfer(payload, block, window=frag.WINDOW, order=None, rx=None, src=0x4F21, counter=0x5A):
    """Send payload block by block through aps.build/parse into a Reassembler; returns
    (asdu, frames sent, acks)."""
    tx = _sender(payload, block, window, counter)
    rx = rx or frag.Reassembler(Clock(), window=window)
    got, sent, acks = None, 0, 0
    while not tx.done:
        blocks = tx.window()
        if order:
            blocks = order(blocks)
        for i in blocks:
            raw = aps.build(tx.frame(i))
            sent += 1
            out, ack = rx.add(src, aps.parse(raw))
            if out is not None:
                assert got is None
                got = out
            if ack is not None:
                acks += 1
                tx.on_ack(aps.parse(aps.build(ack)))
        if not tx.fragmented:  # an unfragmented frame gets the plain APS ack
            assert tx.on_ack(aps.ApsFrame(aps.ACK, tx.counter, 1, 0x0704, 0x0109, 1))
    return got, sent, acks


def test_extended_header_bytes():
    first = aps.ApsFrame(aps.DATA, 0x5A, 1, 0x0704, 0x0109, 1, b"ab", ack_req=True,
                      frag=aps.FRAG_FIRST, block=3)
    raw = aps.build(first)
    # frame control 0xC0: data, unicast, ack request, extended header; ... counter; 01 = first
    # fragment, 03 = block count
    assert raw == U("C0" "01" "0407" "0901" "01" "5A" "01" "03") + b"ab"
    f = aps.parse(raw)
    assert (f.frag, f.block, f.counter, f.payload, f.header) == (1, 3, 0x5A, b"ab", raw[:10])
    later = aps.ApsFrame(aps.DATA, 0x5A, 1, 0x0704, 0x0109, 1, b"c", ack_req=True,
                      frag=aps.FRAG_PART, block=2)
    assert aps.build(later)[7:10] == U("5A" "02" "02")
    ack = aps.ApsFrame(aps.ACK, 0x5A, 1, 0x0704, 0x0109, 1, frag=aps.FRAG_FIRST, block=0,
                    ack_bits=0xFD)
    raw = aps.build(ack)
    assert raw == U("82" "01" "0407" "0901" "01" "5A" "01" "00" "FD")
    a = aps.parse(raw)
    assert (a.ftype, a.frag, a.block, a.ack_bits) == (aps.ACK, 1, 0, 0xFD)
    # extended header with fragmentation 0 is one byte and round-trips
    raw = U("80" "01" "0407" "0901" "01" "5A" "00") + b"z"
    f = aps.parse(raw)
    assert f.frag == 0 and f.payload == b"z" and aps.build(f) == raw
    # reserved values and truncations are refused
    for bad in ("80 01 0407 0901 01 5A", "80 01 0407 0901 01 5A 03 01", "80 01 0407 0901 01 5A 04",
                "80 01 0407 0901 01 5A 01", "82 01 0407 0901 01 5A 01 00",
                "88 01 0407 0901 01 5A 01 02",  # broadcast delivery, fragmented
                "A1 5A 01 02 0000000000 00000000"):  # command frame, fragmented
        _t.raises(Reject, aps.parse, U(bad.replace(" ", "")))
    _t.raises(Reject, aps.build, aps.ApsFrame(aps.DATA, 1, None, 0x0704, 0x0109, 1, b"x",
                                           delivery=aps.GROUP, group=5, frag=aps.FRAG_FIRST,
                                           block=2))




def test_round_trip_every_size_around_block_boundaries():
    for block in (71, 55):
        sizes = set([1, 2, 4095, 4096])
        k = 1
        while k * block <= 4096 + block:
            for d in (-1, 0, 1):
                n = k * block + d
                if 1 <= n <= 4096:
                    sizes.add(n)
            k += 1
        rx = frag.Reassembler(Clock())  # one receiver, its pool buffers reused
        for k, n in enumerate(sorted(sizes)):
            m = _msg(n)
            got, sent, acks = _transfer(m, block, rx=rx, counter=k)
            assert got == m, (block, n)
            count = (n + block - 1) // block
            assert sent == count
            assert acks == (0 if count == 1 else (count + 7) // 8), (n, acks)
            assert len(rx) == 0 and len(rx.pool) == frag.SLOTS


def test_window_acks_and_retransmission_as_the_spec_scenario():
    """8 blocks, window 3, block 1 lost once: the receiver's partial ack of window 0 is
    0xFD, then 0xFF after the retransmission; windows at 0, 3, 6 (the last one 2 blocks)."""
    clock = Clock()
    m = _msg(8 * 30)
    tx = _sender(m, 30, window=3)
    rx = frag.Reassembler(clock, window=3, ack_wait=100)
    assert tx.window() == [0, 1, 2]
    first = aps.parse(aps.build(tx.frame(0)))
    assert (first.frag, first.block) == (aps.FRAG_FIRST, 8)
    assert rx.add(7, first) == (None, None)
    assert rx.add(7, aps.parse(aps.build(tx.frame(2)))) == (None, None)
    clock.t = 50
    assert rx.poll() == ([], [])
    clock.t = 150
    acks, gone = rx.poll()
    assert gone == [] and len(acks) == 1 and acks[0][0] == 7
    ack = aps.parse(aps.build(acks[0][1]))
    assert (ack.ftype, ack.counter, ack.block, ack.ack_bits) == (aps.ACK, 0x5A, 0, 0xFD)
    assert (ack.dst_ep, ack.cluster, ack.profile, ack.src_ep) == (1, 0x0704, 0x0109, 1)
    assert rx.poll() == ([], [])  # not repeated before another ack_wait
    assert not tx.on_ack(ack)
    assert tx.window() == [1]
    out, ack = rx.add(7, aps.parse(aps.build(tx.frame(1))))
    assert out is None and (ack.block, ack.ack_bits) == (0, 0xFF)
    tx.on_ack(ack)
    assert tx.window() == [3, 4, 5]
    for i in (3, 4, 5):
        out, ack = rx.add(7, tx.frame(i))
    assert (ack.frag, ack.block, ack.ack_bits) == (aps.FRAG_PART, 3, 0xFF)
    tx.on_ack(ack)
    assert tx.window() == [6, 7]
    rx.add(7, tx.frame(6))
    out, ack = rx.add(7, tx.frame(7))
    assert out == m and (ack.block, ack.ack_bits) == (6, 0xFF)
    assert tx.on_ack(ack) and tx.done and tx.window() == []
    assert len(rx) == 0


def test_sender_ignores_foreign_acks_and_gives_up():
    tx = _sender(_msg(200), 50, window=2)
    tx.window()
    other = aps.ApsFrame(aps.ACK, 0x11, 1, 0x0704, 0x0109, 1, frag=1, block=0, ack_bits=0xFF)
    assert not tx.on_ack(other)  # another message's counter
    stale = aps.ApsFrame(aps.ACK, 0x5A, 1, 0x0704, 0x0109, 1, frag=2, block=2, ack_bits=0xFF)
    assert not tx.on_ack(stale) and tx.window() == [0, 1]  # not the current window
    for _ in range(frag.RETRIES - 1):
        tx.window()
    e = _t.raises(Reject, tx.window)
    assert e.reason == "no-ack"
    one = _sender(b"short", 50)
    assert not one.fragmented and one.window() == [0]
    f = one.frame(0)
    assert f.frag == 0 and not f.ext and aps.build(f)[0] == 0x40
    assert one.on_ack(aps.ApsFrame(aps.ACK, 0x5A, 1, 0x0704, 0x0109, 1))
    _t.raises(Reject, _sender, b"", 50)
    _t.raises(Reject, _sender, _msg(10), 5, window=9)


def test_out_of_order_and_duplicates():
    m = _msg(10 * 40 + 3)

    def reverse(blocks):
        return list(reversed(blocks))

    got, sent, acks = _transfer(m, 40, window=4, order=reverse)
    assert got == m and sent == 11 and acks == 3

    def twice(blocks):
        return blocks + blocks

    got, sent, acks = _transfer(m, 40, window=4, order=twice)
    assert got == m and sent == 22
    # a block repeated after its window was acknowledged is acked again, nothing else changes
    rx = frag.Reassembler(Clock(), window=4)
    tx = _sender(m, 40, window=4)
    for i in range(4):
        out, ack = rx.add(1, tx.frame(i))
    assert ack.block == 0
    out, again = rx.add(1, tx.frame(2))
    assert out is None and (again.block, again.ack_bits) == (0, 0xFF)
    # the same block with other bytes is refused; the first copy stays
    f = tx.frame(5)
    f.payload = b"X" * 40
    rx.add(1, tx.frame(5))
    e = _t.raises(Reject, rx.add, 1, f)
    assert e.reason == "format"
    for i in range(4, 11):
        if i != 5:
            out, _ack = rx.add(1, tx.frame(i))
    assert out == m
    # after completion a late repeat is acked (the sender may have missed the last ack)
    out, ack = rx.add(1, tx.frame(10))
    assert out is None and (ack.block, ack.ack_bits) == (8, 0xFF)
    e = _t.raises(Reject, rx.add, 1, aps.ApsFrame(aps.DATA, 0x5A, 1, 0x0704, 0x0109, 1, b"x",
                                                frag=2, block=11))
    assert e.reason == "format"


def test_missing_and_out_of_range_blocks():
    clock = Clock()
    rx = frag.Reassembler(clock, timeout=1000, window=8)
    tx = _sender(_msg(300), 40)
    for i in range(8):
        if i != 3:
            rx.add(2, tx.frame(i))
    assert len(rx) == 1
    # out of range: number >= count, a later fragment numbered 0, a count of 0
    for f in (aps.ApsFrame(aps.DATA, 0x5A, 1, 0x0704, 0x0109, 1, b"x", frag=2, block=8),
              aps.ApsFrame(aps.DATA, 0x5A, 1, 0x0704, 0x0109, 1, b"x", frag=2, block=0),
              aps.ApsFrame(aps.DATA, 0x5A, 1, 0x0704, 0x0109, 1, b"x", frag=1, block=0),
              aps.ApsFrame(aps.DATA, 0x5A, 1, 0x0704, 0x0109, 1, b"x", frag=1, block=9)):
        e = _t.raises(Reject, rx.add, 2, f)
        assert e.reason == "format"
    assert len(rx) == 1  # the reassembly in progress is unchanged
    clock.t = 999
    assert rx.poll()[1] == []
    clock.t = 2000
    acks, gone = rx.poll()
    assert gone == [(2, 0x5A)] and len(rx) == 0
    # block 3 arriving now starts nothing complete: the message is gone
    assert rx.add(2, tx.frame(3)) == (None, None)
    # blocks before the first fragment: a later count that excludes them drops the reassembly
    rx = frag.Reassembler(Clock())
    rx.add(3, aps.ApsFrame(aps.DATA, 9, 1, 0x0704, 0x0109, 1, b"x", frag=2, block=5))
    e = _t.raises(Reject, rx.add, 3, aps.ApsFrame(aps.DATA, 9, 1, 0x0704, 0x0109, 1, b"y", frag=1,
                                               block=4))
    assert e.reason == "format" and len(rx) == 0
    # a missing first block: the partial ack shows what arrived, and the sender resends block 0
    clock = Clock()
    rx = frag.Reassembler(clock, ack_wait=10)
    tx = _sender(_msg(120), 40)
    tx.window()
    rx.add(4, tx.frame(1))
    rx.add(4, tx.frame(2))
    clock.t = 20
    acks, _g = rx.poll()
    tx.on_ack(acks[0][1])
    assert tx.window() == [0]
    out, ack = rx.add(4, tx.frame(0))
    assert out == _msg(120) and tx.on_ack(ack)


def test_bounds_size_and_slots():
    rx = frag.Reassembler(Clock(), max_total=4096, slots=2)
    e = _t.raises(Reject, _sender, _msg(4097), 71)
    assert e.reason == "too-large"
    e = _t.raises(Reject, frag.block_count, 300, 1)
    assert e.reason == "too-large"
    # a first block announcing 255 blocks of 71 bytes is refused at once, nothing is held
    big = frag.Sender(_msg(255 * 20), 1, 1, 0x0704, 0x0109, 1, 20, max_total=255 * 20)
    f = big.frame(0)
    f.payload = _msg(71)
    e = _t.raises(Reject, rx.add, 5, f)
    assert e.reason == "too-large" and len(rx) == 0
    # 58 blocks of 71 may hold up to 4096 bytes: a full last block (4118) drops the reassembly
    big = frag.Sender(_msg(58 * 71), 2, 1, 0x0704, 0x0109, 1, 71, max_total=58 * 71)
    for i in range(57):
        assert rx.add(5, big.frame(i))[0] is None
    e = _t.raises(Reject, rx.add, 5, big.frame(57))
    assert e.reason == "too-large" and len(rx) == 0
    # later blocks before the first one are bounded by max_total too
    big = frag.Sender(_msg(70 * 71), 3, 1, 0x0704, 0x0109, 1, 71, max_total=70 * 71)
    for i in range(1, 58):
        assert rx.add(6, big.frame(i)) == (None, None)
    e = _t.raises(Reject, rx.add, 6, big.frame(58))
    assert e.reason == "too-large" and len(rx) == 0
    # every block but the last has block 0's length
    tx = _sender(_msg(200), 50, counter=7)
    rx.add(7, tx.frame(0))
    f = tx.frame(1)
    f.payload = f.payload[:49]
    e = _t.raises(Reject, rx.add, 7, f)
    assert e.reason == "format" and len(rx) == 1
    f = tx.frame(3)
    f.payload = f.payload + b"!"
    e = _t.raises(Reject, rx.add, 7, f)
    assert e.reason == "format"
    rx = frag.Reassembler(Clock(), max_total=4096, slots=2)
    # two reassemblies at once, a third sender is refused until one completes
    a, b, c = (_sender(_msg(100), 40, counter=k) for k in (1, 2, 3))
    rx.add(10, a.frame(0))
    rx.add(11, b.frame(0))
    e = _t.raises(Reject, rx.add, 12, c.frame(0))
    assert e.reason == "no-resources"
    rx.add(10, a.frame(1))
    out, _ack = rx.add(10, a.frame(2))
    assert out == _msg(100)
    assert rx.add(12, c.frame(0)) == (None, None)
    e = _t.raises(Reject, rx.add, 11, aps.ApsFrame(aps.COMMAND, 2, frag=1, block=3))
    assert e.reason == "format"
    # the same counter from two senders: two messages
    rx = frag.Reassembler(Clock())
    for i in range(3):
        out1, _a = rx.add(20, a.frame(i))
        if i < 2:
            out2, _a = rx.add(21, a.frame(i))
    assert out1 == _msg(100) and out2 is None and len(rx) == 1
    assert rx.add(21, a.frame(2))[0] == _msg(100) and len(rx) == 0

