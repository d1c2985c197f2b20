"""Robustness of the ZigBee parsers: frames of the scripted join capture, mutated at random (bit
flips, truncation, extension, byte overwrites), through mac -> nwk -> aps -> zcl parsing and NWK/APS
security with the right keys. Any outcome but a parsed frame or a typed Reject (a crash, another
exception) fails; a secured frame whose NWK bytes changed never opens (the MIC or the header check
refuses it; the MAC header is outside NWK security, the FCS covers it)."""
import random

import pytest

from firmware.alerts import Reject
from firmware.zigbee import aps, mac, nwk, zcl
from host_tools.han import capture, zep

N = 20000


def _frames(tmp_path):
    path = str(tmp_path / "j.pcap")
    info = capture.build(path)
    raw = open(path, "rb").read()
    out, p = [], 24
    while p < len(raw):
        n = int.from_bytes(raw[p + 8:p + 12], "little")
        out.append(zep.decode(raw[p + 16 + 42:p + 16 + n])["psdu"])
        p += 16 + n
    return out, info


def _mutate(rnd, b):
    b = bytearray(b)
    k = rnd.randrange(4)
    if k == 0 and b:
        i = rnd.randrange(len(b))
        b[i] ^= 1 << rnd.randrange(8)
    elif k == 1:
        b = b[:rnd.randrange(len(b) + 1)]
    elif k == 2:
        b += bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 8)))
    elif b:
        for _ in range(rnd.randrange(1, 4)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
    return bytes(b)


def _walk(psdu, keys):
    """Parse every layer; returns how far it got. Only Reject may escape the codecs."""
    f = mac.parse(psdu, with_fcs=False)
    if f.ftype != mac.DATA:
        return "mac"
    n = nwk.parse(f.payload)
    if n.security:
        nwk.open_(n, keys["nwk_key"])
    a = aps.parse(n.payload)
    if a.security:
        key = keys["link_key"] if a.ftype == aps.COMMAND else keys["tc_link_key"]
        aps.open_(a, key, n.aux.src if n.aux else None)
    if a.ftype == aps.DATA and a.profile == aps.PROFILE_SE and a.frag != aps.FRAG_PART:
        zcl.parse(a.payload)  # a later APS fragment holds ASDU bytes, not a ZCL header
        return "zcl"
    return "aps"


def test_mutated_frames_only_parse_or_reject(tmp_path):
    frames, info = _frames(tmp_path)
    secured = set()
    for i, fr in enumerate(frames):  # the originals all walk through
        assert _walk(fr[:-2], info) in ("mac", "aps", "zcl")
        if mac.parse(fr).ftype == mac.DATA and (fr[9 + 1] & 0x02):
            secured.add(i)
    rnd = random.Random(20261207)
    outcomes = {"reject": 0, "mac": 0, "aps": 0, "zcl": 0}
    opened_mutant = 0
    for _ in range(N):
        i = rnd.randrange(len(frames))
        orig = frames[i][:-2]
        m = _mutate(rnd, orig)
        try:
            r = _walk(m, info)
        except Reject:
            outcomes["reject"] += 1
            continue
        outcomes[r] += 1
        if r == "mac" or i not in secured:
            continue
        mp = mac.parse(m, with_fcs=False).payload
        # a mutant with its NWK security bit cleared parses as an unsecured frame, which the HAN
        # refuses before any APS parsing (firmware/han/device.py and hub.py: "NWK frame without
        # security"); one that still carries the bit must not open with changed bytes
        if nwk.parse(mp).security and mp != mac.parse(orig, with_fcs=False).payload:
            opened_mutant += 1  # NWK bytes of a secured frame changed and it still opened
    assert opened_mutant == 0
    assert outcomes["reject"] > N // 2
    # FCS catches every mutation of a whole PSDU
    for _ in range(2000):
        fr = frames[rnd.randrange(len(frames))]
        m = _mutate(rnd, fr)
        if m != fr:
            with pytest.raises(Reject):
                mac.parse(m)
