"""A meter receiving 4 KB GBCS messages over the HAN inside `micropython -X heapsize=96K` as
deployed (.mpy, host_tools/boards/build.py): APS-secured fragments (ZigBee spec 2.2.8.4.5, each
block sealed on its own, 4.4.1) built on the host are opened by firmware.zigbee.secure.ApsSecurity
(durable counters) and reassembled by firmware.zigbee.frag's Reassembler; the device prints what
it reassembled and the host compares it byte for byte, with the acks it sent."""
import os
import subprocess

import pytest

from firmware.zigbee import aps, frag
from firmware.zigbee.secure import ApsSecurity
from firmware.store.durable import Store
from host_tools.boards import build as B

HUB = 0x00DB1234567890A2
METER = 0x00DB123456789093
LINK = bytes.fromhex("17E92CAAA342C367E8EDDC58EEBA69ED")

DEVICE = r'''
import sys, gc
sys.path[0] = ""
from binascii import unhexlify as u, hexlify as h
from firmware.alerts import Reject
from firmware.store.durable import Store
from firmware.zigbee import aps, frag
from firmware.zigbee.secure import ApsSecurity
HUB = 0x00DB1234567890A2
LINK = u("17E92CAAA342C367E8EDDC58EEBA69ED")
sec = ApsSecurity(Store(sys.argv[1]), 0x00DB123456789093, lambda e: LINK if e == HUB else None)
rx = frag.Reassembler(lambda: 0)
gc.collect()
print("START", gc.mem_free())
low = 1 << 30
with open(sys.argv[2]) as f:
    for line in f:
        try:
            out, ack = rx.add(HUB, sec.open(u(line.strip()), HUB))
        except Reject as x:
            print("X", x.reason)
            continue
        if ack is not None:
            print("ACK", ack.block, ack.ack_bits)
        if out is not None:
            for i in range(0, len(out), 64):
                print("D", h(out[i:i + 64]).decode())
            print("DONE", len(out))
            out = None
        gc.collect()
        low = min(low, gc.mem_free())
gc.collect()
print("END", gc.mem_free(), low)
'''


def _msg(n, seed):
    return bytes((i * 31 + seed + (i >> 7)) & 0xFF for i in range(n))


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("tree"))
    B.build("host", out)
    with open(os.path.join(out, "frag_run.py"), "w") as f:
        f.write(DEVICE)
    return out


def _run(tree, tmp_path, frames, heap="96K"):
    path = str(tmp_path / "frames.hex")
    with open(path, "w") as f:
        f.write("\n".join(r.hex() for r in frames) + "\n")
    mp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".venv", "bin",
                      "micropython")
    p = subprocess.run([mp if os.path.exists(mp) else "micropython", "-X", "heapsize=" + heap,
                        "frag_run.py", str(tmp_path / "store"), path], cwd=tree,
                       capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def _parse(out):
    msgs, cur, acks, rejects, end = [], [], [], [], None
    for line in out.splitlines():
        w = line.split()
        if w[0] == "D":
            cur.append(bytes.fromhex(w[1]))
        elif w[0] == "DONE":
            msgs.append(b"".join(cur))
            assert len(msgs[-1]) == int(w[1])
            cur = []
        elif w[0] == "ACK":
            acks.append((int(w[1]), int(w[2])))
        elif w[0] == "X":
            rejects.append(w[1])
        elif w[0] == "END":
            end = (int(w[1]), int(w[2]))
    return msgs, acks, rejects, end


def _frames(tmp_path, asdus, block):
    """Sealed on-air APS blocks of each ASDU, in order, plus one replayed block at the end."""
    hub = ApsSecurity(Store(str(tmp_path / "hub")), HUB, lambda e: LINK)
    frames = []
    for k, asdu in enumerate(asdus):
        tx = frag.Sender(asdu, k, 1, 0x0704, aps.PROFILE_SE, 1, block)
        for i in range(tx.count):
            frames.append(hub.seal(tx.frame(i), METER))
    return frames + [frames[1]]


def test_meter_reassembles_4k_gbcs_messages_in_96k(tree, tmp_path):
    block = frag.max_block(ext_nonce=True)
    asdus = [_msg(3986 + 5, 1), _msg(4096, 2), _msg(151, 3)]  # CS02b in TransferData, the max,
    rc, out, err = _run(tree, tmp_path, _frames(tmp_path, asdus, block))  # ECS42 in TransferData
    assert rc == 0, err[-2000:]
    msgs, acks, rejects, end = _parse(out)
    assert msgs == asdus
    n1, n2 = (len(asdus[0]) + block - 1) // block, (len(asdus[1]) + block - 1) // block
    assert len(acks) == (n1 + 7) // 8 + (n2 + 7) // 8 + 1
    assert all(bits == 0xFF for _b, bits in acks)
    assert rejects == ["replay"]  # the replayed block is refused by its frame counter
    free, low = end
    assert low > 4096, out  # headroom left at the tightest point


def test_the_check_is_not_a_rubber_stamp(tree, tmp_path):
    """A block altered on air never reassembles, and a heap too small for the pool fails."""
    block = frag.max_block(ext_nonce=True)
    frames = _frames(tmp_path, [_msg(500, 4)], block)
    bad = bytearray(frames[2])
    bad[-6] ^= 1
    frames[2] = bytes(bad)
    rc, out, err = _run(tree, tmp_path, frames[:-1])
    msgs, acks, rejects, end = _parse(out)
    assert rc == 0 and msgs == [] and rejects == ["mic"]
    rc, out, err = _run(tree, tmp_path, frames, heap="24K")
    assert rc != 0 and "MemoryError" in out + err
